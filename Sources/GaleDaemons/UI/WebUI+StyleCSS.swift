extension WebUI {
    /// `style.css`: The style sheet.
    static let styleCSS = #"""
        :root {
          --fg: #1b1f24; --muted: #5b6570; --bg: #ffffff; --panel: #f5f7f9; --line: #d8dee4;
          --accent: #1d4e89; --ok: #1a7f37; --warn: #9a6700; --bad: #cf222e;
          --cap-low: #dafbe1; --cap-mid: #fff8c5; --cap-high: #ffd8b5; --cap-over: #ffcecb;
          font-family: system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif;
          font-size: 14px; color: var(--fg); background: var(--bg);
        }
        body { margin: 0; }
        a { color: var(--accent); text-decoration: none; }
        a:hover { text-decoration: underline; }
        code, pre, .mono { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 12.5px; }
        h1 { font-size: 20px; margin: 4px 0 8px; }
        h2 { font-size: 16px; margin: 22px 0 8px; }
        h3 { font-size: 14px; margin: 14px 0 6px; }
        header.top {
          display: flex; align-items: center; gap: 12px; padding: 8px 16px;
          background: var(--accent); color: #fff; position: sticky; top: 0; z-index: 5;
        }
        header.top a { color: #fff; }
        .brand { font-weight: 700; font-size: 16px; }
        .crumbs a::before, .crumbs span::before { content: "/"; margin: 0 6px; opacity: .6; }
        .spacer { flex: 1; }
        .fetched { font-size: 12px; opacity: .9; }
        .fetched.stale { color: #ffd8b5; }
        header.top button { background: transparent; color: #fff; border: 1px solid #ffffff80; }
        button {
          font: inherit; padding: 3px 10px; border-radius: 4px; border: 1px solid var(--line);
          background: var(--panel); color: var(--fg); cursor: pointer;
        }
        button:hover { border-color: var(--accent); }
        button.danger { border-color: var(--bad); color: var(--bad); }
        button:disabled { opacity: .5; cursor: default; }
        input, select { font: inherit; padding: 2px 6px; border: 1px solid var(--line); border-radius: 4px; }
        main { padding: 8px 16px 40px; }
        .notice { margin: 8px 16px; padding: 8px 12px; border-radius: 4px; background: var(--cap-over);
          border: 1px solid var(--bad); }
        .notice.info { background: var(--cap-mid); border-color: var(--warn); }
        .login { margin: 16px; padding: 12px 16px; background: var(--panel); border: 1px solid var(--line);
          border-radius: 6px; max-width: 640px; }
        .login input { width: 360px; }
        .hint, .muted { color: var(--muted); font-size: 12px; }
        .loading { color: var(--muted); }
        .summary { display: flex; flex-wrap: wrap; gap: 8px 24px; margin: 4px 0 10px; }
        .summary div { display: flex; flex-direction: column; }
        .summary .label { color: var(--muted); font-size: 11px; text-transform: uppercase; letter-spacing: .04em; }
        .summary .value { font-size: 15px; }
        .status-active, .state-running, .yes { color: var(--ok); font-weight: 600; }
        .status-inactive, .state-starting { color: var(--warn); font-weight: 600; }
        .status-killed, .state-failed, .state-stale, .state-no-binary, .bad { color: var(--bad); font-weight: 600; }
        .problems { color: var(--bad); margin: 4px 0; padding-left: 18px; }
        .actions { display: flex; gap: 8px; align-items: center; margin: 8px 0; flex-wrap: wrap; }
        .result { font-size: 13px; }
        .result.ok { color: var(--ok); }
        .result.error { color: var(--bad); }
        .backpressure { padding: 6px 10px; border-radius: 4px; background: var(--cap-over); margin: 8px 0; }
        .tablewrap { overflow-x: auto; }
        table { border-collapse: collapse; margin: 4px 0 8px; }
        th, td { padding: 3px 8px; border-bottom: 1px solid var(--line); text-align: left; white-space: nowrap; }
        th { background: var(--panel); font-weight: 600; font-size: 12px; position: sticky; top: 0; }
        th.sortable { cursor: pointer; user-select: none; }
        th.sorted-asc::after { content: " ▲"; font-size: 9px; }
        th.sorted-desc::after { content: " ▼"; font-size: 9px; }
        td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
        td.wrap { white-space: normal; max-width: 60em; word-break: break-word; }
        tr.overloaded td:first-child { box-shadow: inset 3px 0 var(--bad); }
        td.cap-low { background: var(--cap-low); }
        td.cap-mid { background: var(--cap-mid); }
        td.cap-high { background: var(--cap-high); }
        td.cap-over { background: var(--cap-over); }
        .empty { color: var(--muted); font-style: italic; }
        .toolbar { display: flex; gap: 6px; align-items: center; margin: 6px 0; flex-wrap: wrap; }
        .windows button[aria-pressed="true"] { background: var(--accent); color: #fff; border-color: var(--accent); }
        .dag-scroll { overflow: auto; max-height: 70vh; border: 1px solid var(--line); border-radius: 6px;
          background: var(--panel); }
        .dag-scroll svg { display: block; }
        .dag .node rect { fill: #fff; stroke: #8c959f; stroke-width: 1.2; }
        .dag .node.spout rect { stroke: var(--accent); stroke-width: 2; }
        .dag .node.cap-low rect { fill: var(--cap-low); }
        .dag .node.cap-mid rect { fill: var(--cap-mid); }
        .dag .node.cap-high rect { fill: var(--cap-high); }
        .dag .node.cap-over rect { fill: var(--cap-over); }
        .dag .node.overloaded rect { stroke: var(--bad); stroke-width: 3; stroke-dasharray: 6 3; }
        .dag .node text { font-size: 12px; fill: var(--fg); }
        .dag .node text.title { font-weight: 700; font-size: 13px; }
        .dag .node text.failed { fill: var(--bad); font-weight: 600; }
        .dag .node a:hover rect { stroke: var(--accent); stroke-width: 2.5; }
        .dag .edge path { fill: none; stroke: #6e7781; stroke-width: 1.4; }
        .dag .edge text { font-size: 11px; fill: var(--muted); }
        .dag .arrowhead { fill: #6e7781; }
        pre.log { background: #0d1117; color: #e6edf3; padding: 10px; border-radius: 6px; overflow: auto;
          max-height: 70vh; white-space: pre-wrap; word-break: break-all; margin: 6px 0; }
        .matches { max-height: 30vh; overflow: auto; border: 1px solid var(--line); border-radius: 4px; padding: 4px 0;
          margin: 6px 0; }
        .matches button { display: block; width: 100%; text-align: left; border: 0; border-radius: 0;
          background: transparent; padding: 2px 8px; white-space: pre-wrap; word-break: break-all; }
        .matches button:hover { background: var(--panel); }
        .confirm { border: 1px solid var(--line); border-radius: 8px; padding: 16px 20px; min-width: 340px; }
        .confirm::backdrop { background: #0006; }
        .confirm h2 { margin-top: 0; }
        .confirm label { display: block; margin: 8px 0; }
        .confirm .buttons { display: flex; justify-content: flex-end; gap: 8px; margin-top: 12px; }
        .details { background: var(--panel); padding: 8px; border-radius: 4px; white-space: pre-wrap; }
        @media (prefers-color-scheme: dark) {
          :root { --fg: #e6edf3; --muted: #9198a1; --bg: #0d1117; --panel: #161b22; --line: #30363d;
            --accent: #4493f8; --cap-low: #12351e; --cap-mid: #3b3217; --cap-high: #4a2a12; --cap-over: #4c1d1d; }
          header.top { background: #161b22; }
          .dag .node rect { fill: #0d1117; }
        }
        section { scroll-margin-top: 48px; }
        """#
}
