extension WebUI {
    /// `cluster.js`: The cluster page.
    static let clusterJS = #"""
        // Gale web UI: the cluster page (GET /api/v1/cluster): nimbus processes, supervisors and their
        // slots, topologies.
        'use strict';
        (function () {
          const G = window.Gale;
          const f = G.fmt;

          G.page(/^\/?$/, () => {
            G.crumbs([['cluster', null]]);
            const element = G.el('div', { class: 'page cluster-page' });
            element.append(G.el('h1', {}, 'Cluster'));
            const summary = G.el('div', { class: 'summary' });
            const [version, versionValue] = G.stat('version');
            const [time, timeValue] = G.stat('nimbus time');
            const [sups, supsValue] = G.stat('supervisors');
            const [slots, slotsValue] = G.stat('slots used / total');
            const [tops, topsValue] = G.stat('topologies');
            summary.append(version, time, sups, slots, tops);
            element.append(summary);

            const nimbuses = new G.Table(
              [
                { title: 'Nimbus', value: (n) => n.identity },
                { title: 'Leader', value: (n) => (n.leader ? 'leader' : 'follower'), cls: (n) => (n.leader ? 'yes' : '') },
              ],
              (n) => n.identity,
              { empty: 'no nimbus registered', cls: 'nimbuses' }
            );
            const supervisors = new G.Table(
              [
                { title: 'Supervisor', value: (s) => s.id },
                { title: 'Host', value: (s) => s.host },
                { title: 'Slots', value: (s) => s.slots.length, num: true },
                { title: 'Used', value: (s) => s.usedSlots.length, num: true },
                { title: 'Free', value: (s) => s.slots.length - s.usedSlots.length, num: true },
                { title: 'Ports', value: (s) => s.slots.join(', ') },
                {
                  title: 'Last report',
                  value: (s) => (s.lastReportAgeSeconds === null || s.lastReportAgeSeconds === undefined
                    ? 'none yet' : f.duration(s.lastReportAgeSeconds) + ' ago'),
                  sort: (s) => s.lastReportAgeSeconds || 0,
                  cls: (s) => (s.lastReportAgeSeconds > 10 ? 'bad' : ''),
                },
              ],
              (s) => s.id,
              { empty: 'no supervisor registered', cls: 'supervisors' }
            );
            const topologies = new G.Table(
              [
                { title: 'Topology', value: (t) => t.name, href: (t) => G.href('topology', t.name) },
                { title: 'Id', value: (t) => t.id },
                { title: 'Status', value: (t) => t.status, cls: (t) => 'status-' + t.status },
                { title: 'Uptime', value: (t) => f.duration(t.uptimeSeconds), sort: (t) => t.uptimeSeconds },
                {
                  title: 'Workers (running / assigned / requested)',
                  value: (t) => t.runningWorkers + ' / ' + t.assignedWorkers + ' / ' + t.requestedWorkers,
                  sort: (t) => t.runningWorkers,
                  cls: (t) => (t.runningWorkers < t.requestedWorkers && t.status !== 'killed' ? 'bad' : ''),
                },
                { title: 'Tasks', value: (t) => t.tasks, num: true },
                { title: 'Epoch', value: (t) => t.epoch, num: true },
                { title: 'Problems', value: (t) => t.problems.join('; '), wrap: true, cls: () => 'bad' },
              ],
              (t) => t.id,
              { empty: 'no topology is running', cls: 'topologies' }
            );
            element.append(
              G.el('h2', {}, 'Nimbus'), nimbuses.element,
              G.el('h2', {}, 'Supervisors'), supervisors.element,
              G.el('h2', {}, 'Topologies'), topologies.element
            );

            return {
              element: element,
              async refresh() {
                const data = await G.api('GET', '/api/v1/cluster');
                G.setText(versionValue, data.version);
                G.setText(timeValue, f.time(data.nimbusTime));
                G.setText(supsValue, data.supervisors.length);
                const total = data.supervisors.reduce((n, s) => n + s.slots.length, 0);
                const used = data.supervisors.reduce((n, s) => n + s.usedSlots.length, 0);
                G.setText(slotsValue, used + ' / ' + total);
                G.setText(topsValue, data.topologies.length);
                nimbuses.update(data.nimbuses);
                supervisors.update(data.supervisors);
                topologies.update(data.topologies);
              },
            };
          });
        })();
        """#
}
