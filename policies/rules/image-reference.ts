/** Tags that move under you: latest and friends, and a bare major version (16, 16-alpine). */
const MOVING_TAG = /^(latest|stable|edge|main|master|alpine|\d+(-[a-z0-9]+)?)$/;

/**
 * Whether a container image reference is pinned. The pack keeps its own reading instead of
 * importing the program's: a policy that shares the code it polices cannot catch its bugs.
 */
export function imagePinning(reference: string): { readonly pinned: boolean; readonly why: string } {
  if (/^sha256:[0-9a-f]{64}$/.test(reference)) return { pinned: true, why: "an image id" };
  if (/@sha256:[0-9a-f]{64}$/.test(reference)) return { pinned: true, why: "a digest" };
  const lastSegment = reference.slice(reference.lastIndexOf("/") + 1);
  const colon = lastSegment.indexOf(":");
  if (colon < 0) return { pinned: false, why: "has no tag (Docker reads that as latest)" };
  const tag = lastSegment.slice(colon + 1);
  if (MOVING_TAG.test(tag)) return { pinned: false, why: `uses the moving tag ${tag}` };
  return { pinned: true, why: `tag ${tag}` };
}
