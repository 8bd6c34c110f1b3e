extension WebUI {
    /// `topology.js`: The topology page and the tables it shares with the component page.
    static let topologyJS = #"""
        // Gale web UI: the topology page (GET /api/v1/topologies/{name}): summary and actions, the DAG,
        // the per-component table over a chosen window, status tables, workers, tasks, recent errors.
        'use strict';
        (function () {
          const G = window.Gale;
          const f = G.fmt;
          G.windows = [['600', '10 min'], ['10800', '3 h'], ['86400', '1 day'], ['all', 'all time']];
          const WINDOW_KEY = 'gale.window';
          const NUMERIC_COLUMNS =
            /^(task|partition|committed|position|highWatermark|lag|pending|retries|committedTxid|openBatches|replays)$/;

          /** Counters of component `c` over window `w` ('all': the all-time totals), or null. */
          G.windowCounts = function (c, w, windowsById) {
            if (w === 'all') return c;
            const entry = windowsById.get(c.id);
            return (entry && entry.windows && entry.windows[w]) || null;
          };

          /** The status tables components publish (`tables`: Kafka partitions, the coordinator). */
          class StatusTables {
            constructor() {
              this.element = G.el('div', { class: 'status-tables' });
              this.tables = new Map();
              this.none = G.el('p', { class: 'empty' }, 'no component publishes a status table');
              this.element.append(this.none);
            }

            update(components) {
              const seen = new Set();
              for (const c of components) {
                for (const t of c.tables || []) {
                  const key = c.id + '\u0000' + t.name;
                  seen.add(key);
                  let entry = this.tables.get(key);
                  const shape = JSON.stringify(t.columns);
                  if (entry && entry.shape !== shape) {
                    entry.block.remove();
                    entry = null;
                  }
                  if (!entry) {
                    const columns = t.columns.map((name, i) => {
                      const numeric = NUMERIC_COLUMNS.test(name) || /(Ms|Seconds)$/.test(name);
                      const bad = name === 'notCommittingBecause' || name === 'lastFailure';
                      return {
                        title: name, num: numeric, wrap: bad,
                        value: (row) => (row[i] === undefined ? '' : row[i]),
                        sort: numeric ? (row) => Number(row[i]) || 0 : undefined,
                        cls: bad ? (row) => (row[i] ? 'bad' : '') : undefined,
                      };
                    });
                    const table = new G.Table(columns, (row) => row._key, { empty: 'no rows', cls: 'status-table' });
                    const block = G.el('div', { class: 'status-table-block', 'data-table': t.name, 'data-component': c.id },
                      G.el('h3', {}, c.id + ': ' + t.name), table.element);
                    this.element.append(block);
                    entry = { table: table, block: block, shape: shape };
                    this.tables.set(key, entry);
                  }
                  entry.table.update(t.rows.map((row, i) => Object.assign(row.slice(), { _key: i })));
                }
              }
              for (const [key, entry] of this.tables) {
                if (!seen.has(key)) {
                  entry.block.remove();
                  this.tables.delete(key);
                }
              }
              this.none.hidden = this.tables.size > 0;
            }
          }
          G.StatusTables = StatusTables;

          /** Columns of the Storm counters over a window; `counts(row)` gives the row's numbers. */
          G.counterColumns = function (counts) {
            const n = (name) => (row) => {
              const c = counts(row);
              return c ? c[name] : null;
            };
            const num = (title, name, format) => ({
              title: title, num: true, value: (row) => (format || f.count)(n(name)(row)), sort: (row) => n(name)(row) || 0,
            });
            return [
              num('Emitted', 'emitted'), num('Transferred', 'transferred'), num('Executed', 'executed'),
              num('Acked', 'acked'), num('Failed', 'failed'),
              num('Complete latency (ms)', 'completeLatencyMs', f.ms), num('Execute latency (ms)', 'executeLatencyMs', f.ms),
            ];
          };

          /** Tasks: one row per task. */
          G.taskTable = function (topology, options) {
            return new G.Table(
              [
                { title: 'Task', value: (t) => t.task, num: true },
                {
                  title: 'Component', value: (t) => t.component,
                  href: (t) => G.href('topology', topology, 'component', t.component),
                },
                {
                  title: 'Worker', value: (t) => t.host + ':' + t.port,
                  href: (t) => G.href('topology', topology, 'worker', t.host + ':' + t.port, 'log'),
                },
              ].concat(G.counterColumns((t) => t), [
                {
                  title: 'Capacity', value: (t) => f.capacity(t.capacity), num: true, sort: (t) => t.capacity,
                  cls: (t) => G.capacityClass(t.capacity),
                },
                { title: 'Pending', value: (t) => f.count(t.pending), num: true, sort: (t) => t.pending },
                { title: 'Queued', value: (t) => f.count(t.queued), num: true, sort: (t) => t.queued },
                { title: 'Overloaded', value: (t) => (t.overloaded ? 'yes' : ''), cls: (t) => (t.overloaded ? 'bad' : '') },
              ]),
              (t) => t.task,
              Object.assign(
                { empty: 'no task has reported yet', cls: 'tasks', rowClass: (t) => (t.overloaded ? 'overloaded' : '') },
                options || {}
              )
            );
          };

          /** Recent errors: newest first. */
          G.errorTable = function (topology) {
            return new G.Table(
              [
                { title: 'Time', value: (e) => f.time(e.time), sort: (e) => e.time },
                {
                  title: 'Component', value: (e) => e.component,
                  href: (e) => G.href('topology', topology, 'component', e.component),
                },
                { title: 'Task', value: (e) => e.task, num: true },
                {
                  title: 'Worker', value: (e) => e.host + ':' + e.port,
                  href: (e) => G.href('topology', topology, 'worker', e.host + ':' + e.port, 'log'),
                },
                { title: 'Error', value: (e) => e.message, wrap: true },
              ],
              (e) => e.time + '/' + e.task + '/' + e.message,
              { empty: 'no errors', cls: 'errors' }
            );
          };

          /** The window selector: buttons; `onChange(id)`. */
          G.windowSelector = function (selected, onChange) {
            const box = G.el('div', { class: 'toolbar windows', role: 'group', 'aria-label': 'window' },
              G.el('span', { class: 'muted' }, 'window:'));
            const buttons = G.windows.map(([id, label]) => {
              const b = G.el('button', { type: 'button', 'data-window': id, 'aria-pressed': String(id === selected) }, label);
              b.addEventListener('click', () => {
                buttons.forEach((other) => other.setAttribute('aria-pressed', String(other === b)));
                onChange(id);
              });
              return b;
            });
            box.append(...buttons);
            return box;
          };

          function topologyPage(name) {
            G.crumbs([['cluster', '#/'], [name, null]]);
            let data = null;
            let selected = sessionStorage.getItem(WINDOW_KEY) || 'all';
            if (!G.windows.some(([id]) => id === selected)) selected = 'all';
            const element = G.el('div', { class: 'page topology-page', 'data-topology': name });
            const heading = G.el('h1', {}, name);
            const summary = G.el('div', { class: 'summary' });
            const stats = {};
            for (const [key, label] of [
              ['status', 'status'], ['id', 'id'], ['uptime', 'uptime'], ['workers', 'workers running / assigned / requested'],
              ['tasks', 'tasks'], ['epoch', 'epoch'], ['backpressure', 'backpressure'], ['nimbusTime', 'nimbus time'],
            ]) {
              const [block, value] = G.stat(label);
              value.id = 'topology-' + key;
              stats[key] = value;
              summary.append(block);
            }
            const problems = G.el('ul', { class: 'problems' });
            const backpressure = G.el('div', { class: 'backpressure', hidden: true, id: 'backpressure' });
            const result = G.el('span', { class: 'result', id: 'action-result', role: 'status' });
            const actions = G.el('div', { class: 'actions' });
            for (const [action, label, danger] of [
              ['activate', 'Activate'], ['deactivate', 'Deactivate'], ['rebalance', 'Rebalance…'], ['kill', 'Kill…', true],
            ]) {
              actions.append(G.el('button', {
                type: 'button', id: 'action-' + action, class: danger ? 'danger' : null, onclick: () => act(action),
              }, label));
            }
            actions.append(result);

            const dag = new G.Dag(name);
            const windowsById = new Map();
            const componentTable = new G.Table(
              [
                { title: 'Component', value: (c) => c.id, href: (c) => G.href('topology', name, 'component', c.id) },
                { title: 'Kind', value: (c) => c.kind },
                { title: 'Tasks', value: (c) => c.tasks, num: true },
              ].concat(G.counterColumns((c) => G.windowCounts(c, selected, windowsById)), [
                {
                  title: 'Capacity', value: (c) => f.capacity(c.capacity), num: true, sort: (c) => c.capacity,
                  cls: (c) => G.capacityClass(c.capacity),
                },
                { title: 'Queued', value: (c) => f.count(c.queued), num: true, sort: (c) => c.queued },
                { title: 'Errors', value: (c) => f.count(c.errorCount), num: true, sort: (c) => c.errorCount,
                  cls: (c) => (c.errorCount ? 'bad' : '') },
                { title: 'Overloaded', value: (c) => (c.overloaded ? 'yes' : ''), cls: (c) => (c.overloaded ? 'bad' : '') },
              ]),
              (c) => c.id,
              {
                empty: 'no component has reported yet', cls: 'components',
                rowClass: (c) => (c.overloaded ? 'overloaded' : ''),
              }
            );
            const selector = G.windowSelector(selected, (id) => {
              selected = id;
              sessionStorage.setItem(WINDOW_KEY, id);
              if (data) componentTable.update(data.components);
            });
            const statusTables = new StatusTables();
            const workers = new G.Table(
              [
                {
                  title: 'Worker', value: (w) => w.host + ':' + w.port,
                  href: (w) => G.href('topology', name, 'worker', w.host + ':' + w.port, 'log'),
                },
                { title: 'Supervisor', value: (w) => w.supervisorId },
                { title: 'State', value: (w) => w.state, cls: (w) => 'state-' + w.state },
                { title: 'Pid', value: (w) => (w.pid === null || w.pid === undefined ? '–' : w.pid), num: true },
                { title: 'Uptime', value: (w) => f.duration(w.uptimeSeconds), sort: (w) => w.uptimeSeconds },
                { title: 'Restarts', value: (w) => w.restarts, num: true },
                { title: 'Tasks', value: (w) => w.tasks.length, num: true, tip: (w) => w.tasks.join(', ') },
                { title: 'Last exit', value: (w) => w.lastExit || '', wrap: true },
                {
                  title: 'Log', value: () => 'log',
                  href: (w) => G.href('topology', name, 'worker', w.host + ':' + w.port, 'log'),
                },
              ],
              (w) => w.host + ':' + w.port,
              { empty: 'no worker is assigned', cls: 'workers' }
            );
            const taskFilter = G.el('input', {
              type: 'search', placeholder: 'filter: component, host or task', id: 'task-filter',
            });
            const tasks = G.taskTable(name, { limit: 500 });
            const errors = G.errorTable(name);
            const supervisorErrors = G.el('ul', { class: 'problems', id: 'supervisor-errors' });
            const updateTasks = () => {
              if (!data) return;
              const q = taskFilter.value.trim().toLowerCase();
              const rows = data.tasks || [];
              tasks.update(q ? rows.filter((t) => (t.component + ' ' + t.host + ':' + t.port + ' ' + t.task).toLowerCase()
                .includes(q)) : rows);
            };
            taskFilter.addEventListener('input', updateTasks);

            const add = (title, id, ...nodes) => {
              const s = G.section(title, id);
              s.body.append(...nodes);
              element.append(s.section);
            };
            element.append(heading, summary, problems, actions, backpressure);
            add('Graph', 'graph', dag.element);
            add('Components', 'components', selector, componentTable.element);
            add('Status tables', 'status-tables', statusTables.element);
            add('Workers', 'workers', workers.element);
            add('Tasks', 'tasks', G.el('div', { class: 'toolbar' }, taskFilter), tasks.element);
            add('Recent errors', 'errors', errors.element, supervisorErrors);

            function showResult(text, ok) {
              result.textContent = text;
              result.className = 'result ' + (ok ? 'ok' : 'error');
            }

            async function act(action) {
              const current = data ? data.requestedWorkers : 1;
              let values;
              if (action === 'activate') {
                values = await G.confirm('Activate ' + name + '?', 'Its spouts start emitting again.', 'Activate');
              } else if (action === 'deactivate') {
                values = await G.confirm('Deactivate ' + name + '?',
                  'Its spouts stop emitting; tuples already in flight are still processed.', 'Deactivate');
              } else if (action === 'rebalance') {
                values = await G.confirm('Rebalance ' + name + '?',
                  'Nimbus reassigns its tasks over the given number of workers (a new epoch: workers restart).', 'Rebalance',
                  [{ name: 'workers', label: 'Workers', type: 'number', value: current, min: 1, step: 1 }]);
              } else {
                values = await G.confirm('Kill ' + name + '?',
                  'Its spouts are deactivated now; after the wait its workers stop and the topology is removed. ' +
                  'This cannot be undone.', 'Kill',
                  [{ name: 'wait', label: 'Wait seconds (empty: its message timeout)', type: 'number', min: 0, step: 'any' }]);
              }
              if (!values) return;
              let body;
              if (action === 'rebalance') {
                const workers = Number(values.workers);
                if (!Number.isInteger(workers) || workers < 1) {
                  return showResult('Rebalance: workers must be a whole number ≥ 1', false);
                }
                body = { workers: workers };
              } else if (action === 'kill') {
                const wait = values.wait === '' ? null : Number(values.wait);
                if (wait !== null && !(wait >= 0)) return showResult('Kill: wait must be a number of seconds ≥ 0', false);
                body = { waitSeconds: wait };
              }
              showResult(action + '…', true);
              try {
                const s = await G.api('POST', G.path('topologies', name, action), body);
                const verb = { activate: 'Activated', deactivate: 'Deactivated', rebalance: 'Rebalancing', kill: 'Killing' };
                const outcome = ': status ' + s.status + ', ' + s.requestedWorkers + ' workers requested';
                showResult(verb[action] + ' ' + s.name + outcome, true);
                G.setText(stats.status, s.status);
                G.setClass(stats.status, 'value status-' + s.status);
                G.refresh();
              } catch (e) {
                if (e instanceof G.ApiError && e.status === 401) G.explain(e);
                showResult((e.status === 403 ? 'Not allowed: ' : action + ' failed: ') + e.message, false);
              }
            }

            return {
              element: element,
              keepsNotice: false,
              async refresh() {
                data = await G.api('GET', G.path('topologies', name));
                const started = performance.now();
                G.setText(heading, data.name);
                G.setText(stats.status, data.status);
                G.setClass(stats.status, 'value status-' + data.status);
                G.setText(stats.id, data.id);
                G.setText(stats.uptime, f.duration(data.uptimeSeconds));
                const running = data.workers.filter((w) => w.state === 'running').length;
                G.setText(stats.workers, running + ' / ' + data.workers.length + ' / ' + data.requestedWorkers);
                G.setText(stats.tasks, data.components.reduce((n, c) => n + c.tasks, 0));
                G.setText(stats.epoch, data.epoch);
                G.setText(stats.nimbusTime, data.nimbusTime ? f.time(data.nimbusTime) : '–');
                const overloaded = data.components.filter((c) => c.overloaded).map((c) => c.id);
                G.setText(stats.backpressure, overloaded.length ? overloaded.length + ' overloaded' : 'none');
                G.setClass(stats.backpressure, 'value' + (overloaded.length ? ' bad' : ''));
                backpressure.hidden = overloaded.length === 0;
                G.setText(backpressure, 'Backpressure: ' + overloaded.join(', ') +
                  (overloaded.length === 1 ? ' has' : ' have') + ' a task whose inbound queue is above its high watermark.');
                const texts = data.problems || [];
                G.setList(problems, texts);
                windowsById.clear();
                for (const w of data.windows || []) windowsById.set(w.id, w);
                dag.update(data.components, data.edges || [], data.windows);
                componentTable.update(data.components);
                statusTables.update(data.components);
                workers.update(data.workers);
                updateTasks();
                errors.update((data.recentErrors || []).slice().reverse());
                const supErrors = data.errors || [];
                G.setList(supervisorErrors, supErrors);
                performance.measure('gale-render', { start: started, end: performance.now() });
              },
            };
          }

          G.page(/^\/topology\/([^/]+)$/, (m) => topologyPage(m[0]));
        })();
        """#
}
