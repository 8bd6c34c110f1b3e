extension WebUI {
    /// `component.js`: A component's page.
    static let componentJS = #"""
        // Gale web UI: a component's page (GET /api/v1/topologies/{name}/components/{component}): its
        // numbers over every window, its tasks, input and output edges and streams, last errors, status tables, and
        // the event samples of `gale debug` (GET .../samples?component=).
        'use strict';
        (function () {
          const G = window.Gale;
          const f = G.fmt;

          function componentPage(topology, id) {
            G.crumbs([['cluster', '#/'], [topology, G.href('topology', topology)], [id, null]]);
            const element = G.el('div', { class: 'page component-page', 'data-component': id });
            const heading = G.el('h1', {}, id);
            const summary = G.el('div', { class: 'summary' });
            const stats = {};
            for (const [key, label] of [
              ['kind', 'kind'], ['tasks', 'tasks'], ['capacity', 'capacity'], ['pending', 'pending trees'],
              ['queued', 'queued'], ['errors', 'errors'], ['overloaded', 'backpressure'], ['nimbusTime', 'nimbus time'],
            ]) {
              const [block, value] = G.stat(label);
              value.id = 'component-' + key;
              stats[key] = value;
              summary.append(block);
            }
            const labels = new Map(G.windows);

            const windowTable = new G.Table(
              [{
                title: 'Window', value: (w) => labels.get(w.id) || w.id,
                sort: (w) => G.windows.findIndex(([wid]) => wid === w.id),
              }].concat(G.counterColumns((w) => w.counts)),
              (w) => w.id,
              { empty: 'no numbers yet', cls: 'windows-table' }
            );
            const rates = G.el('p', { class: 'muted', id: 'component-rates' });
            const edgeColumns = (end) => [
              {
                title: end === 'from' ? 'From' : 'To', value: (e) => e[end],
                href: (e) => G.href('topology', topology, 'component', e[end]),
              },
              { title: 'Stream', value: (e) => e.stream },
              { title: 'Grouping', value: (e) => e.grouping },
              { title: 'Transferred', value: (e) => f.count(e.transferred), num: true, sort: (e) => e.transferred },
              { title: 'Tuples/s', value: (e) => f.rate(e.perSecond), num: true, sort: (e) => e.perSecond },
            ];
            const edgeKey = (e) => e.from + '>' + e.to + '>' + e.stream;
            const inputs = new G.Table(edgeColumns('from'), edgeKey, { empty: 'no inputs (a spout)', cls: 'inputs' });
            const outputs = new G.Table(edgeColumns('to'), edgeKey, { empty: 'no outputs', cls: 'outputs' });
            const tasks = G.taskTable(topology);
            const countColumn = (title, key) => ({
              title: title, value: (r) => (r[key] === null ? '' : f.count(r[key])), num: true, sort: (r) => r[key],
            });
            // Storm's output and input stats: what the component emitted per stream (a spout's
            // trees acked and failed by the stream they are rooted on), what it took per input.
            const outputStreams = new G.Table(
              [{ title: 'Stream', value: (r) => r.stream }, countColumn('Emitted', 'emitted'),
                countColumn('Transferred', 'transferred'), countColumn('Acked', 'acked'), countColumn('Failed', 'failed')],
              (r) => r.stream,
              { empty: 'no output streams', cls: 'output-streams' }
            );
            const inputStreams = new G.Table(
              [
                {
                  title: 'From', value: (r) => r.from,
                  href: (r) => G.href('topology', topology, 'component', r.from),
                },
                { title: 'Stream', value: (r) => r.stream }, countColumn('Executed', 'executed'),
                countColumn('Acked', 'acked'), countColumn('Failed', 'failed'),
              ],
              (r) => r.from + '>' + r.stream,
              { empty: 'no input streams', cls: 'input-streams' }
            );
            const streamBox = G.el('div');
            streamBox.append(G.el('h3', {}, 'Output streams'), outputStreams.element,
              G.el('h3', {}, 'Input streams'), inputStreams.element);
            const errors = G.errorTable(topology);
            const details = G.el('pre', { class: 'details', hidden: true, id: 'component-details' });
            const statusTables = new G.StatusTables();
            const samplingState = G.el('p', { id: 'sampling-state' });
            const samples = new G.Table(
              [
                { title: 'Time', value: (s) => f.time(s.time), sort: (s) => s.time },
                { title: 'Task', value: (s) => s.task, num: true },
                { title: 'Stream', value: (s) => s.stream },
                { title: 'Worker', value: (s) => s.host + ':' + s.port },
                { title: 'Values', value: (s) => s.values, wrap: true },
              ],
              (s) => s.time + '/' + s.task + '/' + s.values,
              { empty: 'no samples', cls: 'samples' }
            );

            const add = (title, sid, ...nodes) => {
              const s = G.section(title, sid);
              s.body.append(...nodes);
              element.append(s.section);
            };
            element.append(heading, summary);
            add('Windows', 'windows', windowTable.element, rates);
            add('Inputs', 'inputs', inputs.element);
            add('Outputs', 'outputs', outputs.element);
            add('Tasks', 'tasks', tasks.element);
            add('Streams', 'streams', streamBox);
            add('Status', 'status', details, statusTables.element);
            add('Last errors', 'errors', errors.element);
            add('Event samples', 'samples', samplingState, samples.element);

            function updateStreams(rows, kind) {
              // A bolt's output stream roots no trees: its acked and failed stay blank.
              const spout = kind === 'spout';
              outputStreams.update(rows.filter((r) => r.from === undefined || r.from === null)
                .map((r) => (spout ? r : Object.assign({}, r, { acked: null, failed: null }))));
              inputStreams.update(rows.filter((r) => r.from !== undefined && r.from !== null));
            }

            /** The samples' answer, or the error that kept nimbus from giving them. */
            async function fetchSamples() {
              try {
                const query = '?component=' + encodeURIComponent(id);
                return await G.api('GET', G.path('topologies', topology, 'samples') + query);
              } catch (e) {
                if (e instanceof G.ApiError && (e.status === 401 || e.status === 0)) throw e;
                return { error: e };
              }
            }

            function showSamples(answer) {
              if (answer.error) {
                G.setText(samplingState, 'Sampling off (nimbus gives no samples: ' + answer.error.message + ').');
                samples.update([]);
                return;
              }
              const list = (answer.samples || []).filter((s) => s.component === id);
              const control = ((answer.controls && answer.controls.sampling) || []).find((s) => s.component === id);
              let state;
              if (control && control.percent > 0) {
                state = 'Sampling ' + control.percent + '% of its tuples' +
                  (control.until ? ' until ' + f.time(control.until) : '') + '.';
                if (!list.length) state += ' No samples yet.';
              } else {
                state = list.length ? 'Sampling off; the samples below were taken earlier.' :
                  'Sampling off: turn it on with gale debug ' + topology + ' --component ' + id + ' --percent N.';
              }
              G.setText(samplingState, state);
              G.setClass(samplingState, list.length ? '' : 'empty');
              samples.update(list.slice().reverse());
            }

            return {
              element: element,
              async refresh() {
                const [data, sampled] = await Promise.all([
                  G.api('GET', G.path('topologies', topology, 'components', id)),
                  fetchSamples(),
                ]);

                const c = data.component;
                G.setText(heading, c.id);
                G.setText(stats.kind, c.kind);
                G.setText(stats.tasks, c.tasks);
                G.setText(stats.capacity, f.capacity(c.capacity));
                G.setClass(stats.capacity, 'value ' + G.capacityClass(c.capacity));
                G.setText(stats.pending, f.count(c.pending));
                G.setText(stats.queued, f.count(c.queued) + ' (longest ' + f.count(c.maxQueueLength) + ' of ' +
                  f.count(c.queueCapacity) + ')');
                G.setText(stats.errors, f.count(c.errorCount));
                G.setText(stats.overloaded, c.overloaded ? 'overloaded' : 'none');
                G.setClass(stats.overloaded, 'value' + (c.overloaded ? ' bad' : ''));
                G.setText(stats.nimbusTime, f.time(data.nimbusTime));
                const windows = (data.window && data.window.windows) || {};
                windowTable.update(G.windows.map(([wid]) => ({
                  id: wid, counts: wid === 'all' && !windows.all ? c : windows[wid],
                })));
                const r = data.window && data.window.rates;
                G.setText(rates, r ? 'Now (last ~10 s): emitted ' + f.rate(r.emitted) +
                  ', transferred ' + f.rate(r.transferred) +
                  ', executed ' + f.rate(r.executed) + ', acked ' + f.rate(r.acked) + ', failed ' + f.rate(r.failed) : '');
                inputs.update(data.inputs || []);
                outputs.update(data.outputs || []);
                tasks.update(data.tasks || []);
                updateStreams(data.streams || [], c.kind);
                errors.update((data.errors || []).slice().reverse());
                const lines = (c.details || []).join('\n');
                G.setText(details, lines);
                details.hidden = !lines;
                statusTables.update([c]);
                showSamples(sampled);
              },
            };
          }

          G.page(/^\/topology\/([^/]+)\/component\/([^/]+)$/, (m) => componentPage(m[0], m[1]));
        })();
        """#
}
