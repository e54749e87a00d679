/**
 * A bounded memo of a pure function of a string, across frames: two
 * generations, and a key not used since the last swap is forgotten, so the
 * cache holds the last few screens' lines (most lines of a frame are the
 * same as in the frame before).  Used by src/ui/fast-output.ts and by the
 * wrappers vtop's bundle puts around Ink's per-line helpers.
 */
export function memo<V>(cap: number): (key: string, make: () => V) => V {
  let cur = new Map<string, V>();
  let old = new Map<string, V>();
  return (key, make) => {
    let v = cur.get(key);
    if (v !== undefined) return v;
    v = old.get(key);
    if (v === undefined) v = make();
    if (cur.size >= cap) {
      old = cur;
      cur = new Map();
    }
    cur.set(key, v);
    return v;
  };
}
