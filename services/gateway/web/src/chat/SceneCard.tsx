/** A scene image inline in the chat: its live progress (with Cancel), Keep once it is done, and
 * a tap on the image for a quick modification. */
import type { SceneView } from "./useScenes";

type Props = { scene: SceneView; onKeep: () => void; onModify: () => void; onCancel: () => void };

export function SceneCard({ scene, onKeep, onModify, onCancel }: Props) {
  if (scene.status === "failed" || scene.status === "cancelled") {
    return (
      <figure className="scene failed" aria-label="Scene">
        <figcaption role="status">The scene {scene.status === "cancelled" ? "was cancelled" : `failed: ${scene.error ?? "unknown error"}`}</figcaption>
      </figure>
    );
  }
  if (!scene.imageUrl) {
    const percent = Math.round(scene.progress * 100);
    return (
      <figure className="scene pending" aria-label="Scene">
        <progress max={100} value={percent} aria-label="Scene progress" />
        <figcaption className="row">
          <span role="status">
            {scene.cancelling ? "Cancelling the scene…" : `Painting the scene… ${percent}%${scene.stage ? ` (${scene.stage})` : ""}`}
          </span>
          <button type="button" className="quiet" disabled={scene.cancelling || !scene.jobId} onClick={onCancel} aria-label="Cancel the scene">
            Cancel
          </button>
        </figcaption>
      </figure>
    );
  }
  return (
    <figure className="scene" aria-label="Scene">
      <button type="button" className="image-button" onClick={onModify} aria-label="Modify this scene">
        <img src={scene.imageUrl} alt={scene.prompt || "Scene"} />
      </button>
      <figcaption className="row">
        {scene.kept ? (
          <span className="muted">Kept in your library</span>
        ) : (
          <button type="button" onClick={onKeep}>
            Keep
          </button>
        )}
      </figcaption>
    </figure>
  );
}
