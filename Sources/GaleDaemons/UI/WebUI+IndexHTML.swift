extension WebUI {
    /// `index.html`: The page itself (`/`): the skeleton every page fills; `{{name}}` stands for the versioned URL of asset `name`.
    static let indexHTML = #"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="referrer" content="no-referrer">
        <title>Gale</title>
        <link rel="icon" href="{{favicon.svg}}" type="image/svg+xml">
        <link rel="stylesheet" href="{{style.css}}">
        <script src="{{core.js}}" defer></script>
        <script src="{{dag.js}}" defer></script>
        <script src="{{cluster.js}}" defer></script>
        <script src="{{topology.js}}" defer></script>
        <script src="{{component.js}}" defer></script>
        <script src="{{log.js}}" defer></script>
        </head>
        <body>
        <header class="top">
          <a class="brand" href="#/">Gale</a>
          <nav id="crumbs" class="crumbs" aria-label="breadcrumbs"></nav>
          <span class="spacer"></span>
          <span id="fetched" class="fetched" title="when the numbers on this page were fetched">not fetched yet</span>
          <button id="pause" type="button" title="stop or resume refreshing every few seconds">pause</button>
          <button id="forget" type="button" hidden title="forget the token this tab keeps">forget token</button>
        </header>
        <div id="notice" class="notice" role="alert" hidden></div>
        <form id="login" class="login" hidden>
          <p id="login-why"></p>
          <label>Token <input id="token" type="password" autocomplete="off" spellcheck="false" required></label>
          <button id="login-submit" type="submit">Use token</button>
          <p class="hint">The token is kept in this tab only (sessionStorage) and sent as
            <code>Authorization: Bearer</code>; <code>gale token create</code> makes one.</p>
        </form>
        <main id="view"><p class="loading">Loading…</p></main>
        <dialog id="confirm" class="confirm">
          <form method="dialog">
            <h2 id="confirm-title"></h2>
            <p id="confirm-text"></p>
            <div id="confirm-fields"></div>
            <div class="buttons">
              <button id="confirm-cancel" value="cancel" type="submit">Cancel</button>
              <button id="confirm-ok" value="ok" type="submit" class="danger">Confirm</button>
            </div>
          </form>
        </dialog>
        <noscript><p class="notice">This page needs JavaScript; the same data is at <code>/api/v1</code>
          (<code>gale list</code>, <code>gale status</code>).</p></noscript>
        </body>
        </html>
        """#
}
