/** A scene image inline in the chat, with its live progress, and Keep once it is done. */
import type { SceneView } from "./useScenes";

export function SceneCard({ scene, onKeep, onModify }: { scene: SceneView; onKeep: () => void; onModify: () => void }) {
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
        <figcaption role="status">
          Painting the scene… {percent}%{scene.stage ? ` (${scene.stage})` : ""}
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
