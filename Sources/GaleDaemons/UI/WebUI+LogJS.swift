extension WebUI {
    /// `log.js`: A worker's log viewer.
    static let logJS = #"""
        // Gale web UI: a worker's log (GET /api/v1/topologies/{name}/workers/{host:port}/log): the tail,
        // paging backwards and forwards by the chosen length (nimbus serves at most 1 MiB a call), and a
        // search over the whole file (at most 1,000 matching lines, each a link to its place).
        'use strict';
        (function () {
          const G = window.Gale;
          const f = G.fmt;
          const LENGTHS = [16384, 65536, 262144, 1048576];
          const MAX_MATCHES = 1000;

          function logPage(topology, worker) {
            G.crumbs([['cluster', '#/'], [topology, G.href('topology', topology)], ['log of ' + worker, null]]);
            const url = G.path('topologies', topology, 'workers', worker, 'log');
            let length = 65536;
            let chunk = null;
            let follow = true;
            let pendingMark = null;

            const element = G.el('div', { class: 'page log-page', 'data-worker': worker });
            const info = G.el('p', { class: 'muted', id: 'log-info' }, 'loading…');
            const text = G.el('pre', { class: 'log', id: 'log-text', tabindex: 0 });
            const lengthSelect = G.el('select', { id: 'log-length', title: 'bytes per page' },
              ...LENGTHS.map((n) => G.el('option', { value: n, selected: n === length }, f.bytes(n))));
            const followBox = G.el('input', { type: 'checkbox', id: 'log-follow', checked: follow });
            const button = (id, label, onclick) => G.el('button', { type: 'button', id: id, onclick: onclick }, label);
            const older = button('log-older', '◀ older', () => go(chunk ? Math.max(0, chunk.offset - length) : 0, false));
            const newer = button('log-newer', 'newer ▶', () => {
              if (!chunk) return;
              const next = chunk.offset + chunk.length;
              go(next >= chunk.size ? null : next, false);
            });
            const query = G.el('input', { type: 'search', id: 'log-query', placeholder: 'text to find in the whole log' });
            const matchInfo = G.el('p', { class: 'muted', id: 'log-match-info' });
            const matches = G.el('div', { class: 'matches', id: 'log-matches', hidden: true });
            const searchButton = G.el('button', { type: 'submit', id: 'log-search' }, 'search');
            const search = G.el('form', { class: 'toolbar' }, query, searchButton);
            search.addEventListener('submit', (event) => {
              event.preventDefault();
              find(query.value);
            });
            lengthSelect.addEventListener('change', () => {
              length = Number(lengthSelect.value);
              go(follow || !chunk ? null : chunk.offset, follow);
            });
            followBox.addEventListener('change', () => {
              follow = followBox.checked;
              if (follow) go(null, true);
            });

            element.append(
              G.el('h1', {}, 'Log of worker ' + worker),
              G.el('div', { class: 'toolbar' },
                button('log-start', '« start', () => go(0, false)), older, newer,
                button('log-tail', 'tail »', () => go(null, true)),
                G.el('label', {}, followBox, ' follow'), G.el('label', {}, 'page ', lengthSelect)),
              info, text, G.el('h2', {}, 'Search'), search, matchInfo, matches
            );

            /** Loads the chunk at `offset` (null: the last `length` bytes). */
            async function go(offset, tail) {
              follow = tail;
              followBox.checked = tail;
              try {
                await load(offset);
              } catch (e) {
                G.explain(e);
              }
            }

            async function load(offset) {
              const q = new URLSearchParams({ length: String(length) });
              if (offset !== null) q.set('offset', String(offset));
              const answer = await G.api('GET', url + '?' + q);
              const atBottom = text.scrollTop + text.clientHeight >= text.scrollHeight - 4;
              const changed = !chunk || answer.offset !== chunk.offset || answer.text !== text.textContent;
              chunk = answer;
              G.setText(info, answer.file + ' · ' + f.bytes(answer.size) + ' · bytes ' + f.count(answer.offset) + '–' +
                f.count(answer.offset + answer.length) + ' of ' + f.count(answer.size) + (follow ? ' · following' : ''));
              older.disabled = answer.offset === 0;
              newer.disabled = answer.offset + answer.length >= answer.size;
              if (changed) {
                if (pendingMark !== null) {
                  mark(answer.text, pendingMark - answer.offset);
                  pendingMark = null;
                } else {
                  text.textContent = answer.text;
                  if (follow && atBottom) text.scrollTop = text.scrollHeight;
                  else if (!follow) text.scrollTop = 0;
                }
                if (!answer.text) text.textContent = answer.size ? '' : '(the log is empty)';
              }
            }

            /** Shows `body` with the line at `at` highlighted and scrolled into view. */
            function mark(body, at) {
              const start = Math.max(0, Math.min(body.length, at));
              let end = body.indexOf('\n', start);
              if (end < 0) end = body.length;
              const highlighted = G.el('mark', {}, body.slice(start, end));
              text.replaceChildren(body.slice(0, start), highlighted, body.slice(end));
              highlighted.scrollIntoView({ block: 'center' });
            }

            async function find(needle) {
              if (!needle) return;
              G.setText(matchInfo, 'searching…');
              try {
                const answer = await G.api('GET', url + '?' + new URLSearchParams({ grep: needle }));
                const found = answer.matches || [];
                const capped = found.length >= MAX_MATCHES ? ' (at most ' + f.count(MAX_MATCHES) + ' shown)' : '';
                G.setText(matchInfo,
                  found.length + capped + ' matching lines in ' + answer.file + ' (' + f.bytes(answer.size) + ')');
                matches.replaceChildren(...found.map((m) => {
                  const b = G.el('button', { type: 'button', 'data-offset': m.offset }, '@' + m.offset + '  ' + m.line);
                  b.addEventListener('click', () => {
                    pendingMark = m.offset;
                    go(Math.max(0, m.offset - Math.floor(length / 2)), false);
                  });
                  return b;
                }));
                matches.hidden = found.length === 0;
              } catch (e) {
                G.setText(matchInfo, 'search failed: ' + G.explain(e));
              }
            }

            return {
              element: element,
              async refresh() {
                if (follow || !chunk) await load(follow ? null : 0);
              },
            };
          }

          G.page(/^\/topology\/([^/]+)\/worker\/([^/]+)\/log$/, (m) => logPage(m[0], m[1]));
        })();
        """#
}
