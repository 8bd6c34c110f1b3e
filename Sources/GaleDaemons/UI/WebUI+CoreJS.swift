extension WebUI {
    /// `core.js`: The shared script: API calls and the token, tables that update in place, formatting, hash routing, the refresh loop.
    static let coreJS = #"""
        // Gale web UI: the shared parts (API calls and credentials, DOM helpers, tables that update in
        // place, formatting, hash routing, the refresh loop). No framework: every page builds its DOM
        // once and then only changes text nodes and attributes, so a refresh neither flickers nor loses
        // the reader's scroll position or selection. Data is always written with textContent, never as
        // HTML.
        'use strict';
        (function () {
          const G = (window.Gale = {});
          const TOKEN_KEY = 'gale.token';
          G.refreshSeconds = 5;

          // ---- API ---------------------------------------------------------------------------------

          /** An answer of nimbus that is not 2xx (status 0: no answer at all). */
          class ApiError extends Error {
            constructor(status, message, body) {
              super(message);
              this.status = status;
              this.body = body || null;
            }
          }
          G.ApiError = ApiError;

          /** Calls nimbus's API; resolves to the decoded JSON body, rejects with an ApiError. */
          G.api = async function (method, path, body) {
            const headers = { Accept: 'application/json' };
            const token = sessionStorage.getItem(TOKEN_KEY);
            if (token) headers.Authorization = 'Bearer ' + token;
            const init = { method: method, headers: headers, cache: 'no-store', credentials: 'omit' };
            if (body !== undefined) {
              headers['Content-Type'] = 'application/json';
              init.body = JSON.stringify(body);
            }
            let response;
            try {
              response = await fetch(path, init);
            } catch (e) {
              throw new ApiError(0, 'nimbus did not answer (' + e.message + ')');
            }
            const text = await response.text();
            let data = null;
            if (text) {
              try {
                data = JSON.parse(text);
              } catch (e) {
                if (response.ok) throw new ApiError(response.status, 'nimbus answered ' + path + ' with invalid JSON');
              }
            }
            if (!response.ok) {
              const message = (data && data.error) || text.slice(0, 300) || response.statusText;
              throw new ApiError(response.status, message, data);
            }
            return data;
          };

          /** `/api/v1/topologies/NAME/...`, each argument one percent-encoded path segment. */
          G.path = function (...segments) {
            return '/api/v1/' + segments.map((s) => encodeURIComponent(String(s))).join('/');
          };

          // ---- notices, credentials ----------------------------------------------------------------

          const $ = (id) => document.getElementById(id);
          G.$ = $;

          /** Shows `parts` (strings and nodes) in the notice bar; `kind` 'info' is not an error. */
          G.notice = function (parts, kind) {
            const bar = $('notice');
            if (!parts) {
              bar.hidden = true;
              bar.replaceChildren();
              return;
            }
            bar.className = 'notice' + (kind ? ' ' + kind : '');
            bar.replaceChildren(...[].concat(parts));
            bar.hidden = false;
          };

          function showLogin(message) {
            $('login-why').textContent = message;
            $('login').hidden = false;
            $('token').focus();
          }

          function updateForget() {
            $('forget').hidden = !sessionStorage.getItem(TOKEN_KEY);
          }

          /**
           * Explains a failed call to the reader: the token form for 401, the leader's address for a
           * follower's 409, the server's own words otherwise. Returns the text shown.
           */
          G.explain = function (error) {
            if (!(error instanceof ApiError)) {
              G.notice('Unexpected error: ' + error.message);
              console.error(error);
              return error.message;
            }
            if (error.status === 401) {
              const had = sessionStorage.getItem(TOKEN_KEY);
              sessionStorage.removeItem(TOKEN_KEY);
              updateForget();
              const why = had
                ? 'Nimbus refused the token this tab had (' + error.message + '). Enter a valid token.'
                : 'This nimbus asks for a token (' + error.message + ').';
              G.notice(null);
              showLogin(why);
              return why;
            }
            if (error.status === 403) {
              const text = 'Not allowed: ' + error.message;
              G.notice(text);
              return text;
            }
            if (error.status === 409 && error.body && error.body.notLeader) {
              const leader = error.body.leader;
              if (leader) {
                const link = G.el('a', { href: location.protocol + '//' + leader + '/' + location.hash }, leader);
                G.notice(['This nimbus is not the leader; the cluster is shown by the leader at ', link, '.'], 'info');
              } else {
                G.notice('This nimbus is not the leader, and no leader is elected yet.', 'info');
              }
              return error.message;
            }
            const text = (error.status ? 'HTTP ' + error.status + ': ' : '') + error.message;
            G.notice(text);
            return text;
          };

          // ---- DOM helpers ---------------------------------------------------------------------------

          /** An element: attrs are attributes (`class`, `href`, ...; `on<event>` adds a listener). */
          G.el = function (tag, attrs, ...children) {
            const node = document.createElement(tag);
            for (const [name, value] of Object.entries(attrs || {})) {
              if (value === null || value === undefined || value === false) continue;
              if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
              else node.setAttribute(name, value === true ? '' : String(value));
            }
            for (const child of children) {
              if (child === null || child === undefined) continue;
              node.append(child instanceof Node ? child : String(child));
            }
            return node;
          };

          /** Sets a node's text only when it differs (no needless layout work). */
          G.setText = function (node, text) {
            const value = text === null || text === undefined ? '' : String(text);
            if (node.textContent !== value) node.textContent = value;
          };

          G.setAttr = function (node, name, value) {
            if (value === null || value === undefined) {
              if (node.hasAttribute(name)) node.removeAttribute(name);
            } else if (node.getAttribute(name) !== String(value)) {
              node.setAttribute(name, String(value));
            }
          };

          G.setClass = function (node, cls) {
            if (node.getAttribute('class') !== cls) node.setAttribute('class', cls);
          };

          /** Makes `list` (a <ul>) hold one <li> per text, rebuilt only when the texts change. */
          G.setList = function (list, texts) {
            const same = list.childElementCount === texts.length && texts.every((t, i) => list.children[i].textContent === t);
            if (!same) list.replaceChildren(...texts.map((t) => G.el('li', {}, t)));
          };

          /** A section: heading and a body element. */
          G.section = function (title, id) {
            const body = G.el('div', { class: 'section-body' });
            const section = G.el('section', { id: id }, G.el('h2', {}, title), body);
            return { section: section, body: body };
          };

          /** A label/value block of a summary line; returns [block, value node]. */
          G.stat = function (label, cls) {
            const value = G.el('span', { class: 'value' + (cls ? ' ' + cls : '') });
            return [G.el('div', {}, G.el('span', { class: 'label' }, label), value), value];
          };

          // ---- formatting ----------------------------------------------------------------------------

          G.fmt = {
            count(n) {
              // Grouped by hand: toLocaleString builds a number format per call (slow for thousands of cells).
              if (n === null || n === undefined) return '–';
              return String(Math.round(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
            },
            ms(v) {
              if (v === null || v === undefined) return '–';
              return v >= 100 ? v.toFixed(0) : v >= 1 ? v.toFixed(2) : v.toFixed(3);
            },
            rate(v) {
              if (v === null || v === undefined) return '–';
              return (v >= 100 ? v.toFixed(0) : v.toFixed(1)) + '/s';
            },
            capacity(v) {
              return v === null || v === undefined ? '–' : v.toFixed(3);
            },
            duration(s) {
              if (s === null || s === undefined || !isFinite(s)) return '–';
              s = Math.max(0, Math.floor(s));
              const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600);
              const m = Math.floor((s % 3600) / 60), sec = s % 60;
              if (d) return d + 'd ' + h + 'h';
              if (h) return h + 'h ' + m + 'm';
              if (m) return m + 'm ' + sec + 's';
              return sec + 's';
            },
            time(seconds) {
              if (!seconds) return '–';
              const t = new Date(seconds * 1000);
              const p = (n, w) => String(n).padStart(w || 2, '0');
              return t.getFullYear() + '-' + p(t.getMonth() + 1) + '-' + p(t.getDate()) + ' ' + p(t.getHours()) + ':' +
                p(t.getMinutes()) + ':' + p(t.getSeconds());
            },
            bytes(n) {
              if (n >= 1048576) return (n / 1048576).toFixed(1) + ' MiB';
              if (n >= 1024) return (n / 1024).toFixed(1) + ' KiB';
              return n + ' B';
            },
          };

          /** The CSS class of a capacity (0...1, above 1 when a task is behind). */
          G.capacityClass = function (c) {
            if (c === null || c === undefined) return '';
            return c >= 1 ? 'cap-over' : c >= 0.8 ? 'cap-high' : c >= 0.5 ? 'cap-mid' : 'cap-low';
          };

          // ---- tables that update in place ---------------------------------------------------------

          /**
           * A table of rows keyed by `key(row)`; `columns` are { title, value(row) -> text, num,
           * href(row), cls(row), sort(row) -> number|string }. `update(rows)` reuses each key's <tr> and
           * its cells, changing only texts and attributes that differ: 500 rows cost a few ms and keep
           * the reader's place. Clicking a heading sorts by it.
           */
          class Table {
            constructor(columns, key, options) {
              this.columns = columns;
              this.key = key;
              this.options = options || {};
              this.rows = new Map();
              this.sortIndex = -1;
              this.sortDesc = false;
              this.last = [];
              this.head = G.el('tr');
              columns.forEach((c, i) => {
                const th = G.el('th', { class: (c.num ? 'num ' : '') + 'sortable', scope: 'col' }, c.title);
                th.addEventListener('click', () => this.sortBy(i));
                this.head.append(th);
              });
              this.body = G.el('tbody');
              this.table = G.el('table', { class: this.options.cls || null }, G.el('thead', {}, this.head), this.body);
              this.empty = G.el('p', { class: 'empty', hidden: true }, this.options.empty || 'none');
              this.more = G.el('p', { class: 'muted', hidden: true });
              this.element = G.el('div', { class: 'tablewrap' }, this.table, this.empty, this.more);
              this.table.hidden = true; // until the first update
            }

            sortBy(index) {
              if (this.sortIndex === index) this.sortDesc = !this.sortDesc;
              else {
                this.sortIndex = index;
                this.sortDesc = !!this.columns[index].num;
              }
              Array.from(this.head.children).forEach((th, i) => {
                th.classList.toggle('sorted-asc', i === index && !this.sortDesc);
                th.classList.toggle('sorted-desc', i === index && this.sortDesc);
              });
              this.update(this.last);
            }

            update(rows) {
              this.last = rows;
              let shown = rows;
              if (this.sortIndex >= 0) {
                const c = this.columns[this.sortIndex];
                const get = c.sort || c.value;
                const sign = this.sortDesc ? -1 : 1;
                shown = rows.slice().sort((a, b) => {
                  const x = get(a), y = get(b);
                  return (x < y ? -1 : x > y ? 1 : 0) * sign;
                });
              }
              const limit = this.options.limit;
              if (limit && shown.length > limit) {
                this.more.textContent = 'Showing ' + limit + ' of ' + shown.length + ' rows; narrow with the filter.';
                this.more.hidden = false;
                shown = shown.slice(0, limit);
              } else {
                this.more.hidden = true;
              }
              const seen = new Set();
              let previous = null;
              for (const row of shown) {
                const k = String(this.key(row));
                seen.add(k);
                let tr = this.rows.get(k);
                if (!tr) {
                  tr = this.makeRow();
                  this.rows.set(k, tr);
                  tr.dataset.key = k;
                }
                this.fill(tr, row);
                const want = previous ? previous.nextSibling : this.body.firstChild;
                if (tr !== want) this.body.insertBefore(tr, want);
                previous = tr;
              }
              for (const [k, tr] of this.rows) {
                if (!seen.has(k)) {
                  tr.remove();
                  this.rows.delete(k);
                }
              }
              this.empty.hidden = shown.length > 0;
              this.table.hidden = shown.length === 0;
            }

            makeRow() {
              const tr = document.createElement('tr');
              for (const c of this.columns) {
                const td = document.createElement('td');
                if (c.href) td.append(document.createElement('a'));
                tr.append(td);
              }
              return tr;
            }

            fill(tr, row) {
              if (this.options.rowClass) G.setClass(tr, this.options.rowClass(row) || '');
              const cells = tr.children;
              this.columns.forEach((c, i) => {
                const td = cells[i];
                G.setClass(td, (c.num ? 'num ' : '') + (c.wrap ? 'wrap ' : '') + (c.cls ? c.cls(row) || '' : ''));
                const target = c.href ? td.firstChild : td;
                if (c.href) G.setAttr(target, 'href', c.href(row));
                if (c.tip) G.setAttr(td, 'title', c.tip(row));
                G.setText(target, c.value(row));
              });
            }
          }
          G.Table = Table;

          // ---- confirmation dialog -----------------------------------------------------------------

          /**
           * Asks before an action: resolves to the fields' values ({name: string}) on Confirm, or null.
           * fields: [{ name, label, type, value, min, placeholder }].
           */
          G.confirm = function (title, text, okLabel, fields) {
            const dialog = $('confirm');
            $('confirm-title').textContent = title;
            $('confirm-text').textContent = text;
            $('confirm-ok').textContent = okLabel;
            const inputs = {};
            $('confirm-fields').replaceChildren(
              ...(fields || []).map((f) => {
                const input = G.el('input', {
                  name: f.name, type: f.type || 'text', value: f.value === undefined ? '' : f.value,
                  min: f.min, step: f.step, placeholder: f.placeholder, id: 'confirm-' + f.name,
                });
                inputs[f.name] = input;
                return G.el('label', {}, f.label + ' ', input);
              })
            );
            dialog.returnValue = '';
            return new Promise((resolve) => {
              dialog.addEventListener(
                'close',
                () => {
                  if (dialog.returnValue !== 'ok') return resolve(null);
                  const values = {};
                  for (const [name, input] of Object.entries(inputs)) values[name] = input.value.trim();
                  resolve(values);
                },
                { once: true }
              );
              dialog.showModal();
            });
          };

          // ---- pages, routing, refreshing ----------------------------------------------------------

          const pages = [];
          /** Registers a page: pattern a RegExp over the hash path; make(match) -> page object. */
          G.page = function (pattern, make) {
            pages.push({ pattern: pattern, make: make });
          };

          let current = null;
          let generation = 0;
          let timer = null;
          let paused = false;
          let inFlight = null;

          /** Breadcrumbs: [[text, href or null], ...]. */
          G.crumbs = function (items) {
            $('crumbs').replaceChildren(
              ...items.map(([text, href]) => (href ? G.el('a', { href: href }, text) : G.el('span', {}, text)))
            );
          };

          /** Shows when the numbers were fetched; data-started and data-fetched: that refresh's times. */
          function markFetched(startedAt) {
            const now = new Date();
            const label = $('fetched');
            label.textContent = 'updated ' + G.fmt.time(now.getTime() / 1000).slice(11);
            label.dataset.started = String(startedAt);
            label.dataset.fetched = String(now.getTime());
            label.classList.remove('stale');
          }

          /**
           * Fetches the current page's data and lets it update its DOM; a refresh that fails leaves
           * the last numbers up, marked stale, and says why.
           */
          async function refresh() {
            if (!current || inFlight) return inFlight;
            const mine = generation;
            const page = current;
            inFlight = (async () => {
              const started = performance.now();
              const startedAt = Date.now();
              try {
                await page.refresh();
                if (mine !== generation) return;
                if (!page.keepsNotice) G.notice(null);
                $('login').hidden = true;
                markFetched(startedAt);
                performance.measure('gale-refresh', { start: started, end: performance.now() });
              } catch (e) {
                if (mine !== generation) return;
                $('fetched').classList.add('stale');
                G.explain(e);
              }
            })();
            try {
              await inFlight;
            } finally {
              inFlight = null;
            }
          }
          G.refresh = refresh;

          function schedule() {
            clearTimeout(timer);
            timer = setTimeout(async () => {
              // Not while the page waits for a token (each call would only be refused again).
              if (!paused && !document.hidden && $('login').hidden) await refresh();
              schedule();
            }, G.refreshSeconds * 1000);
          }

          function route() {
            const hash = location.hash.replace(/^#/, '') || '/';
            generation += 1;
            if (current && current.unmount) current.unmount();
            current = null;
            const view = $('view');
            for (const p of pages) {
              const m = p.pattern.exec(hash);
              if (!m) continue;
              let args;
              try {
                args = m.slice(1).map((s) => decodeURIComponent(s));
              } catch (e) {
                continue;
              }
              current = p.make(args);
              view.replaceChildren(current.element);
              break;
            }
            if (!current) {
              view.replaceChildren(G.el('p', {}, 'No such page: ' + hash + '. ', G.el('a', { href: '#/' }, 'The cluster')));
              G.crumbs([]);
              return;
            }
            window.scrollTo(0, 0);
            refresh();
            schedule();
          }

          /** `#/...` of a page; segments are percent-encoded. */
          G.href = function (...segments) {
            return '#/' + segments.map((s) => encodeURIComponent(String(s))).join('/');
          };

          window.addEventListener('error', (event) => {
            const where = (event.filename || '') + ':' + event.lineno;
            G.notice('Internal error of the page: ' + event.message + ' (' + where + ')');
          });
          window.addEventListener('unhandledrejection', (event) => {
            const reason = event.reason;
            G.notice('Internal error of the page: ' + (reason && reason.message ? reason.message : String(reason)));
          });

          document.addEventListener('DOMContentLoaded', () => {
            $('login').addEventListener('submit', (event) => {
              event.preventDefault();
              const token = $('token').value.trim();
              if (!token) return;
              sessionStorage.setItem(TOKEN_KEY, token);
              $('token').value = '';
              $('login').hidden = true;
              G.notice(null);
              updateForget();
              refresh();
            });
            $('forget').addEventListener('click', () => {
              sessionStorage.removeItem(TOKEN_KEY);
              updateForget();
              refresh();
            });
            $('pause').addEventListener('click', () => {
              paused = !paused;
              $('pause').textContent = paused ? 'resume' : 'pause';
              if (!paused) refresh();
            });
            document.addEventListener('visibilitychange', () => {
              if (!document.hidden && !paused) refresh();
            });
            updateForget();
            window.addEventListener('hashchange', route);
            route();
          });
        })();
        """#
}
