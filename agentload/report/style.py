"""The report page's stylesheet, inlined in the page (a string, so packaging needs no data file)."""

CSS = """
:root { --ok: #2d6a4f; --bad: #c1121f; --warn: #b5838d; --ink: #1d2433; --muted: #6c757d; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       color: var(--ink); background: #f6f7f9; }
.banner { display: flex; gap: 24px; align-items: center; padding: 18px 28px; color: #fff;
          background: var(--muted); }
.banner.pass { background: var(--ok); }
.banner.fail { background: var(--bad); }
.banner.aborted { background: #7b2cbf; }
.banner h1 { margin: 0 0 4px; font-size: 22px; }
.banner p { margin: 2px 0; opacity: .92; }
.verdict { font-size: 34px; font-weight: 800; letter-spacing: 1px; padding: 6px 16px;
           border: 3px solid rgba(255,255,255,.8); border-radius: 8px; }
nav { position: sticky; top: 0; z-index: 5; background: #fff; border-bottom: 1px solid #dde1e6;
      padding: 8px 28px; display: flex; flex-wrap: wrap; gap: 18px; }
nav a { color: var(--ink); text-decoration: none; font-weight: 600; }
main { max-width: 1280px; margin: 0 auto; padding: 8px 28px 40px; }
section { background: #fff; border: 1px solid #e3e6ea; border-radius: 8px; padding: 14px 20px;
          margin: 18px 0; }
h2 { margin: 0 0 10px; font-size: 18px; }
h3 { margin: 16px 0 6px; font-size: 15px; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 10px;
        font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 5px 10px; border-bottom: 1px solid #eceff2; }
th { background: #f1f3f5; font-weight: 600; }
tr.bad td { background: #fde8ea; color: var(--bad); font-weight: 600; }
tr.warn td { background: #fff6e0; }
tr.ok td:last-child { color: var(--ok); font-weight: 600; }
.kpis { display: grid; grid-template-columns: repeat(auto-fill, minmax(170px, 1fr)); gap: 10px;
        margin-bottom: 12px; }
.kpi { border: 1px solid #e3e6ea; border-radius: 8px; padding: 10px 12px; background: #fbfcfd; }
.kpi .v { font-size: 22px; font-weight: 700; }
.kpi .l { color: var(--muted); }
.charts { display: grid; gap: 8px 18px; grid-template-columns: repeat(2, minmax(0, 1fr)); }
@media (max-width: 1100px) { .charts { grid-template-columns: minmax(0, 1fr); } }
.charts.wide { grid-template-columns: 1fr; }
.chart { margin: 6px 0 10px; min-width: 0; }
.flame { width: 100%; border: 1px solid #e3e6ea; background: #fff; }
.note { color: var(--muted); }
.ci { color: var(--muted); font-size: 12px; white-space: nowrap; }
.thin { color: #9c6500; font-size: 12px; white-space: nowrap; }
.verdict-line { font-size: 16px; font-weight: 700; }
.verdict-line.bad { color: var(--bad); }
.verdict-line.ok { color: var(--ok); }
code { background: #f1f3f5; padding: 1px 4px; border-radius: 4px; }
"""
