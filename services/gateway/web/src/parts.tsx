/** Small pieces every page uses. */
export function Problem({ text }: { text: string | null | undefined }) {
  if (!text) return null;
  return (
    <p role="alert" className="problem">
      {text}
    </p>
  );
}
