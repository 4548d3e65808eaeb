/** The chat's header: back to the dashboard, the character (opens its drawer), and the panels. */
import { Portrait } from "../pages/Portrait";
import { href } from "../route";

export type HeaderPanel = "info" | "lore" | "memory" | "preview" | "settings";

const PANELS: [Exclude<HeaderPanel, "info">, string][] = [
  ["lore", "Lorebooks"],
  ["memory", "Memory"],
  ["preview", "Prompt preview"],
  ["settings", "Settings"],
];

type Props = { name: string; imageUrl: string | null | undefined; onOpen: (panel: HeaderPanel) => void };

export function ChatHeader({ name, imageUrl, onOpen }: Props) {
  return (
    <header className="chat-header">
      <a href={href({ page: "dashboard" })} aria-label="Back to the dashboard" className="button quiet">
        ‹
      </a>
      <button type="button" className="quiet title" onClick={() => onOpen("info")} aria-label={`About ${name}`}>
        <Portrait name={name} url={imageUrl} />
        <span>{name}</span>
      </button>
      {PANELS.map(([panel, label]) => (
        <button key={panel} type="button" className="quiet" onClick={() => onOpen(panel)}>
          {label}
        </button>
      ))}
    </header>
  );
}
