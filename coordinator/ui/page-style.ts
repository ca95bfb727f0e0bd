/** The status page's stylesheet: system fonts, light and dark, one column on a phone. */
export const PAGE_STYLE = `
:root { --bg:#f5f6f8; --card:#fff; --fg:#1b1f24; --muted:#5d6673; --line:#dde1e6;
  --up:#137a3a; --up-bg:#e3f5e9; --down:#b42318; --down-bg:#fde8e6; --unk:#8a5a00; --unk-bg:#fff3d6;
  --info:#1f5fbf; --info-bg:#e6efff; --op:#6b3fb3; --op-bg:#f0e9fb; }
@media (prefers-color-scheme: dark) { :root { --bg:#101317; --card:#181c22; --fg:#e8eaed; --muted:#9aa3ad;
  --line:#2a3038; --up:#5fd38a; --up-bg:#123322; --down:#ff8a80; --down-bg:#3a1614; --unk:#f2c14e;
  --unk-bg:#3a2e10; --info:#8ab4ff; --info-bg:#14233d; --op:#c7a6ff; --op-bg:#281c3d; } }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--fg);
  font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Ubuntu,sans-serif; }
header { display:flex; flex-wrap:wrap; gap:.5rem 1rem; align-items:center; padding:.8rem 1rem;
  border-bottom:1px solid var(--line); background:var(--card); position:sticky; top:0; z-index:1; }
header h1 { font-size:1.1rem; margin:0; }
header .meta { color:var(--muted); font-size:.85rem; }
.conn { margin-left:auto; font-size:.8rem; padding:.15rem .5rem; border-radius:1rem; }
.conn.ok { color:var(--up); background:var(--up-bg); } .conn.bad { color:var(--down); background:var(--down-bg); }
main { max-width:1100px; margin:0 auto; padding:1rem; display:grid; gap:1rem; }
section.card { background:var(--card); border:1px solid var(--line); border-radius:.6rem; padding:1rem; min-width:0; }
h2 { font-size:1.05rem; margin:0 0 .6rem; } h3 { font-size:.9rem; margin:1rem 0 .4rem; color:var(--muted);
  text-transform:uppercase; letter-spacing:.04em; }
.sub { color:var(--muted); font-size:.85rem; overflow-wrap:anywhere; }
.live { display:flex; flex-wrap:wrap; align-items:center; gap:.5rem; margin:.4rem 0 .8rem; }
.live .path { font-size:1.3rem; font-weight:700; padding:.2rem .7rem; border-radius:.4rem; }
.live .path.primary { color:var(--up); background:var(--up-bg); }
.live .path.secondary { color:var(--unk); background:var(--unk-bg); }
.badge { display:inline-block; font-size:.75rem; font-weight:600; padding:.1rem .45rem; border-radius:.3rem;
  background:var(--line); color:var(--fg); white-space:nowrap; }
.badge.paused,.badge.pinned { background:var(--op-bg); color:var(--op); }
.badge.stale,.badge.error,.badge.down { background:var(--down-bg); color:var(--down); }
.badge.up,.badge.in-sync { background:var(--up-bg); color:var(--up); }
.badge.unknown,.badge.pending,.badge.abstain { background:var(--unk-bg); color:var(--unk); }
.verdicts { display:grid; grid-template-columns:repeat(auto-fit,minmax(220px,1fr)); gap:.6rem; }
.verdict { border:1px solid var(--line); border-left-width:5px; border-radius:.4rem; padding:.5rem .7rem; }
.verdict.up { border-left-color:var(--up); } .verdict.down { border-left-color:var(--down); }
.verdict.unknown { border-left-color:var(--unk); }
.verdict .big { font-size:1.15rem; font-weight:700; text-transform:uppercase; }
.verdict.up .big { color:var(--up); } .verdict.down .big { color:var(--down); } .verdict.unknown .big { color:var(--unk); }
.scroll { overflow-x:auto; -webkit-overflow-scrolling:touch; }
table { border-collapse:collapse; width:100%; font-size:.88rem; }
th,td { text-align:left; padding:.35rem .5rem; border-bottom:1px solid var(--line); vertical-align:top; }
th { color:var(--muted); font-weight:600; font-size:.8rem; }
tr.divergent td { background:var(--down-bg); }
.alert { border-radius:.4rem; padding:.45rem .7rem; margin:.5rem 0; background:var(--down-bg); color:var(--down);
  font-weight:600; font-size:.88rem; }
tr.stale td { opacity:.75; background:repeating-linear-gradient(135deg,transparent 0 8px,var(--unk-bg) 8px 16px); }
.ok { color:var(--up); font-weight:700; } .fail { color:var(--down); font-weight:700; } .none { color:var(--muted); }
.cell small { display:block; color:var(--muted); }
.charts { display:grid; grid-template-columns:repeat(auto-fit,minmax(260px,1fr)); gap:.6rem; }
.chart svg { width:100%; height:70px; display:block; background:var(--bg); border-radius:.3rem; }
.legend { display:flex; flex-wrap:wrap; gap:.2rem .8rem; font-size:.78rem; color:var(--muted); }
.legend i { display:inline-block; width:.7rem; height:.7rem; border-radius:2px; margin-right:.25rem; vertical-align:-1px; }
ol.timeline { list-style:none; margin:0; padding:0; }
ol.timeline li { display:grid; grid-template-columns:5.2rem 1fr; gap:.2rem .6rem; padding:.35rem 0;
  border-bottom:1px solid var(--line); font-size:.86rem; }
ol.timeline time { color:var(--muted); font-variant-numeric:tabular-nums; }
.type { font-weight:700; margin-right:.35rem; }
.type.failover,.type.both-down,.type.active-down,.type.dns-error,.type.dns-diverged,.type.probe-silent { color:var(--down); }
.type.failback,.type.dns-switched,.type.dns-converged,.type.dns-recovered,.type.probe-back,.type.both-down-cleared,.type.active-down-cleared { color:var(--up); }
.type.pin,.type.pause,.type.resume { color:var(--op); } .type.dns-drift,.type.flap-held { color:var(--unk); }
form.login { display:flex; flex-wrap:wrap; gap:.5rem; align-items:center; }
form.login input { flex:1 1 14rem; font:inherit; padding:.45rem .6rem; border:1px solid var(--line);
  border-radius:.3rem; background:var(--bg); color:var(--fg); }
button { font:inherit; padding:.45rem .9rem; border-radius:.3rem; border:1px solid var(--line);
  background:var(--info-bg); color:var(--info); cursor:pointer; }
nav.controls { max-width:1100px; margin:0 auto; padding:1rem 1rem 0; display:flex; flex-wrap:wrap; gap:.5rem 1rem;
  align-items:center; font-size:.88rem; }
nav.controls input[type=search] { flex:1 1 12rem; min-width:0; font:inherit; padding:.35rem .55rem;
  border:1px solid var(--line); border-radius:.3rem; background:var(--card); color:var(--fg); }
nav.controls .summary { flex:1 1 100%; color:var(--muted); }
nav.controls .summary strong { color:var(--fg); }
nav.controls button { padding:.3rem .7rem; }
@media (max-width:600px) { main { padding:.6rem; } section.card { padding:.75rem; } th,td { padding:.3rem .35rem; } }
`;
