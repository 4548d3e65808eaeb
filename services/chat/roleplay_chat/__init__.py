"""Chat service: runs roleplay turns: prompt assembly, LLM streaming, messages, memory."""
