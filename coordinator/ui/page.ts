/** The status page at `GET /`: one self-contained HTML document (style and script inline, no data in it). */
import { PAGE_SCRIPT } from "./page-script.ts";
import { PAGE_STYLE } from "./page-style.ts";

/** Content-Security-Policy of the pages we serve: nothing may load from anywhere but this coordinator. */
export const PAGE_CSP =
  "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; " +
  "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** The status page's CSP in a cluster: it may also read `ui/state` from the other members (their origins). */
export function pageCsp(memberOrigins: readonly string[]): string {
  const extra = memberOrigins.filter((o) => /^https?:\/\/[^\s;']+$/.test(o));
  return extra.length === 0
    ? PAGE_CSP
    : PAGE_CSP.replace("connect-src 'self'", `connect-src 'self' ${extra.join(" ")}`);
}

/** The status page's HTML; it fetches `ui/state` itself, so the document holds no state. */
export function statusPageHtml(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>healthmesh status</title>
<style>${PAGE_STYLE}</style>
</head>
<body>
<header>
  <h1>healthmesh · <span id="zone">status</span></h1>
  <span class="meta" id="updated">loading…</span>
  <span class="conn" id="conn" role="status">connecting</span>
</header>
<main id="app" aria-live="polite"></main>
<script>${PAGE_SCRIPT}</script>
</body>
</html>
`;
}
