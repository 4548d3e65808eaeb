/** Multipart `file` uploads through the typed client (openapi-fetch sends the FormData as is). */
export function fileForm(file: File): { body: { file: string }; bodySerializer: (body: unknown) => FormData } {
  const form = new FormData();
  form.append("file", file);
  return { body: form as unknown as { file: string }, bodySerializer: (body) => body as FormData };
}
