/** A character's portrait. The API names it by a gateway path that needs the bearer token
 * (it redirects to a short-lived signed URL), so such a path is fetched with the token and
 * shown from memory; a signed URL is used as it is. */
import { useEffect, useState } from "react";
import { authHeaders } from "../api/client";

function usePicture(url: string | null | undefined): string | null {
  const [shown, setShown] = useState<string | null>(null);
  useEffect(() => {
    if (!url) return setShown(null);
    if (!url.startsWith("/")) return setShown(url);
    let objectUrl: string | null = null;
    let cancelled = false;
    void fetch(url, { headers: authHeaders() })
      .then((r) => (r.ok ? r.blob() : null))
      .then((blob) => {
        if (!blob || cancelled) return;
        objectUrl = URL.createObjectURL(blob);
        setShown(objectUrl);
      })
      .catch(() => setShown(null));
    return () => {
      cancelled = true;
      if (objectUrl) URL.revokeObjectURL(objectUrl);
    };
  }, [url]);
  return shown;
}

export function Portrait({ name, url, large }: { name: string; url: string | null | undefined; large?: boolean }) {
  const picture = usePicture(url);
  const size = large ? "portrait large" : "portrait";
  if (picture) return <img src={picture} alt={`Portrait of ${name}`} className={size} />;
  return (
    <span className={`${size} initials`} aria-hidden="true">
      {name.slice(0, 1).toUpperCase()}
    </span>
  );
}
