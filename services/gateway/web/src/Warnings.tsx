/** What an import mended or cut, in words. */
export function Warnings({ title, items }: { title: string; items: string[] }) {
  if (items.length === 0) return null;
  return (
    <section className="warnings" role="status" aria-label={title}>
      <h3>{title}</h3>
      <ul>
        {items.map((w, i) => (
          <li key={i}>{w}</li>
        ))}
      </ul>
    </section>
  );
}
