extension WebUI {
    /// `dag.js`: The topology graph: layered layout and SVG drawing.
    static let dagJS = #"""
        // Gale web UI: a topology's DAG as SVG. Layered left to right: each component's column is the
        // longest path to it from a spout (edges that close a cycle are drawn below the nodes and do not
        // count), rows within a column ordered by a few barycentre sweeps to cut crossings. The layout
        // is computed only when the set of components or edges changes; a refresh changes texts and
        // classes. The drawing scrolls and zooms, so a topology of hundreds of components stays usable.
        'use strict';
        (function () {
          const G = window.Gale;
          const SVG = 'http://www.w3.org/2000/svg';
          const W = 184, H = 62, GAP_X = 96, GAP_Y = 18, MARGIN = 20, LOOP = 70;

          function svg(tag, attrs, ...children) {
            const node = document.createElementNS(SVG, tag);
            for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
            for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
            return node;
          }

          /** Columns and rows of `nodes` ([{id}]) for `edges` ([{from, to}]); see the file comment. */
          function layout(nodes, edges) {
            const n = nodes.length;
            const index = new Map(nodes.map((node, i) => [node.id, i]));
            const links = [];
            for (const e of edges) {
              if (index.has(e.from) && index.has(e.to)) links.push({ edge: e, u: index.get(e.from), v: index.get(e.to) });
            }
            const out = nodes.map(() => []);
            const indegree = new Int32Array(n);
            links.forEach((l, i) => {
              out[l.u].push(i);
              indegree[l.v] += 1;
            });
            // Back edges by an iterative depth-first search from the sources first.
            const colour = new Uint8Array(n);
            const back = new Uint8Array(links.length);
            const starts = [];
            for (let i = 0; i < n; i++) if (indegree[i] === 0) starts.push(i);
            for (let i = 0; i < n; i++) if (indegree[i] !== 0) starts.push(i);
            for (const s of starts) {
              if (colour[s]) continue;
              colour[s] = 1;
              const stack = [[s, 0]];
              while (stack.length) {
                const top = stack[stack.length - 1];
                const v = top[0];
                if (top[1] < out[v].length) {
                  const li = out[v][top[1]++];
                  const w = links[li].v;
                  if (colour[w] === 1) back[li] = 1;
                  else if (colour[w] === 0) {
                    colour[w] = 1;
                    stack.push([w, 0]);
                  }
                } else {
                  colour[v] = 2;
                  stack.pop();
                }
              }
            }
            // Longest path over the forward edges (Kahn's order).
            const remaining = new Int32Array(n);
            links.forEach((l, i) => {
              if (!back[i]) remaining[l.v] += 1;
            });
            const column = new Int32Array(n);
            const queue = [];
            for (let i = 0; i < n; i++) if (remaining[i] === 0) queue.push(i);
            for (let q = 0; q < queue.length; q++) {
              const v = queue[q];
              for (const li of out[v]) {
                if (back[li]) continue;
                const w = links[li].v;
                column[w] = Math.max(column[w], column[v] + 1);
                if (--remaining[w] === 0) queue.push(w);
              }
            }
            const columns = [];
            for (let i = 0; i < n; i++) (columns[column[i]] = columns[column[i]] || []).push(i);
            for (let c = 0; c < columns.length; c++) columns[c] = columns[c] || [];
            // Barycentre sweeps: down by predecessors, up by successors.
            const row = new Float64Array(n);
            const placeRows = () => columns.forEach((col) => col.forEach((v, r) => (row[v] = r)));
            placeRows();
            const preds = nodes.map(() => []), succs = nodes.map(() => []);
            links.forEach((l, i) => {
              if (back[i] || l.u === l.v) return;
              preds[l.v].push(l.u);
              succs[l.u].push(l.v);
            });
            const sweep = (neighbours, order) => {
              for (const c of order) {
                const key = new Map();
                for (const v of columns[c]) {
                  const ns = neighbours[v];
                  key.set(v, ns.length ? ns.reduce((sum, u) => sum + row[u], 0) / ns.length : row[v]);
                }
                columns[c].sort((a, b) => key.get(a) - key.get(b) || row[a] - row[b]);
                columns[c].forEach((v, r) => (row[v] = r));
              }
            };
            const down = columns.map((_, c) => c).slice(1), up = columns.map((_, c) => c).reverse().slice(1);
            for (let i = 0; i < 4; i++) {
              sweep(preds, down);
              sweep(succs, up);
            }
            const tallest = Math.max(1, ...columns.map((c) => c.length));
            const xy = nodes.map(() => [0, 0]);
            columns.forEach((col, c) => {
              const offset = (tallest - col.length) / 2;
              col.forEach((v, r) => {
                xy[v] = [MARGIN + c * (W + GAP_X), MARGIN + (offset + r) * (H + GAP_Y)];
              });
            });
            const hasBack = back.some((b) => b === 1);
            return {
              xy: xy, links: links, back: back, column: column,
              width: MARGIN * 2 + Math.max(1, columns.length) * (W + GAP_X) - GAP_X,
              height: MARGIN * 2 + tallest * (H + GAP_Y) - GAP_Y + (hasBack ? LOOP : 0),
            };
          }
          G.layoutDag = layout;

          /** The curve of link `l` (index i of its node pair's `k` links): path and label position. */
          function curve(geometry, l, i, k) {
            const [x1, y1] = geometry.xy[l.u];
            const [x2, y2] = geometry.xy[l.v];
            const spread = (i - (k - 1) / 2) * 10;
            let p;
            if (geometry.back[l.index] || geometry.column[l.v] <= geometry.column[l.u]) {
              const a = [x1 + W * 0.62 + spread, y1 + H], b = [x2 + W * 0.38 + spread, y2 + H];
              const dip = LOOP - 8;
              p = [a, [a[0], a[1] + dip], [b[0], b[1] + dip], b];
            } else {
              const a = [x1 + W, y1 + H / 2 + spread], b = [x2, y2 + H / 2 + spread];
              const dx = Math.max(40, (b[0] - a[0]) / 2);
              p = [a, [a[0] + dx, a[1]], [b[0] - dx, b[1]], b];
            }
            const d = 'M' + p.map((q) => q[0].toFixed(1) + ' ' + q[1].toFixed(1)).join(' ').replace(/^(\S+ \S+) /, '$1 C');
            const mx = (p[0][0] + 3 * p[1][0] + 3 * p[2][0] + p[3][0]) / 8;
            const my = (p[0][1] + 3 * p[1][1] + 3 * p[2][1] + p[3][1]) / 8;
            return { d: d, x: mx, y: my - 4 };
          }

          /** The DAG of one topology page. */
          class Dag {
            constructor(topology) {
              this.topology = topology;
              this.structure = '';
              this.scale = null;
              this.nodes = new Map();
              this.edges = [];
              this.svg = svg('svg', { class: 'dag', role: 'img', 'aria-label': 'topology graph' });
              this.scroll = G.el('div', { class: 'dag-scroll' });
              this.scroll.append(this.svg);
              const zoom = (f) => () => this.zoom(f);
              this.label = G.el('span', { class: 'muted' });
              this.element = G.el(
                'div',
                { class: 'dag-box' },
                G.el(
                  'div',
                  { class: 'toolbar' },
                  G.el('button', { type: 'button', onclick: zoom(1 / 1.25), title: 'zoom out', id: 'dag-zoom-out' }, '−'),
                  G.el('button', { type: 'button', onclick: zoom(1.25), title: 'zoom in', id: 'dag-zoom-in' }, '+'),
                  G.el('button', { type: 'button', onclick: () => this.fit(), id: 'dag-fit' }, 'fit'),
                  G.el('button', { type: 'button', onclick: () => this.setScale(1), id: 'dag-actual' }, '100%'),
                  this.label
                ),
                this.scroll
              );
            }

            zoom(factor) {
              this.setScale((this.scale || 1) * factor);
            }

            fit() {
              const width = this.scroll.clientWidth || 1000;
              this.setScale(Math.min(1, (width - 4) / this.width));
            }

            setScale(scale) {
              this.scale = Math.max(0.05, Math.min(4, scale));
              this.svg.setAttribute('width', Math.ceil(this.width * this.scale));
              this.svg.setAttribute('height', Math.ceil(this.height * this.scale));
              G.setText(this.label, Math.round(this.scale * 100) + '%');
            }

            /** Draws or updates: components (ackers left out), edges, and each component's window. */
            update(components, edges, windows) {
              const nodes = components.filter((c) => c.kind !== 'acker');
              const known = new Set(nodes.map((c) => c.id));
              const shown = edges.filter((e) => known.has(e.from) && known.has(e.to));
              const structure = JSON.stringify([
                nodes.map((c) => [c.id, c.kind]), shown.map((e) => [e.from, e.to, e.stream]),
              ]);
              if (structure !== this.structure) {
                this.structure = structure;
                this.build(nodes, shown);
              }
              const rates = new Map((windows || []).map((w) => [w.id, w.rates]));
              for (const c of nodes) {
                const node = this.nodes.get(c.id);
                const r = rates.get(c.id);
                const rate = r ? (c.kind === 'spout' ? r.emitted : r.executed) : null;
                G.setText(node.rate, G.fmt.rate(rate) + ' · ' + c.tasks + (c.tasks === 1 ? ' task' : ' tasks'));
                G.setText(node.capacity, 'capacity ' + G.fmt.capacity(c.capacity));
                G.setText(node.failed, 'failed ' + G.fmt.count(c.failed));
                G.setAttr(node.failed, 'class', c.failed > 0 ? 'failed' : 'ok');
                const cls = 'node ' + c.kind + ' ' + G.capacityClass(c.capacity) + (c.overloaded ? ' overloaded' : '');
                G.setAttr(node.group, 'class', cls);
                G.setText(
                  node.tip,
                  c.id + ' (' + c.kind + ')\nemitted ' + G.fmt.count(c.emitted) + ', executed ' + G.fmt.count(c.executed) +
                    ', acked ' + G.fmt.count(c.acked) + ', failed ' + G.fmt.count(c.failed) + '\ncapacity ' +
                    G.fmt.capacity(c.capacity) + (c.overloaded ? ' (overloaded: backpressure)' : '') +
                    (c.errorCount ? '\n' + c.errorCount + ' errors' : '')
                );
              }
              shown.forEach((e, i) => {
                const label = (e.stream && e.stream !== 'default' ? e.stream + ' · ' : '') + G.fmt.rate(e.perSecond);
                G.setText(this.edges[i].label, label);
                G.setText(
                  this.edges[i].tip,
                  e.from + ' → ' + e.to + ' (' + e.stream + ', ' + e.grouping + ')\n' + G.fmt.count(e.transferred) +
                    ' transferred, ' + G.fmt.rate(e.perSecond)
                );
              });
            }

            build(nodes, edges) {
              const geometry = layout(nodes, edges);
              geometry.links.forEach((l, i) => (l.index = i));
              this.width = geometry.width;
              this.height = geometry.height;
              this.svg.setAttribute('viewBox', '0 0 ' + this.width + ' ' + this.height);
              const marker = svg(
                'marker',
                { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto' },
                svg('path', { d: 'M0 0 L10 5 L0 10 z', class: 'arrowhead' })
              );
              const edgeLayer = svg('g', { class: 'edges' });
              const nodeLayer = svg('g', { class: 'nodes' });
              const pairs = new Map();
              for (const l of geometry.links) {
                const k = l.u + ':' + l.v;
                pairs.set(k, (pairs.get(k) || []).concat([l]));
              }
              this.edges = geometry.links.map((l) => {
                const pair = pairs.get(l.u + ':' + l.v);
                const c = curve(geometry, l, pair.indexOf(l), pair.length);
                const label = svg('text', { x: c.x.toFixed(1), y: c.y.toFixed(1), 'text-anchor': 'middle' });
                const tip = svg('title');
                const group = svg(
                  'g',
                  { class: 'edge', 'data-from': l.edge.from, 'data-to': l.edge.to, 'data-stream': l.edge.stream },
                  tip,
                  svg('path', { d: c.d, 'marker-end': 'url(#arrow)' }),
                  label
                );
                edgeLayer.append(group);
                return { label: label, tip: tip };
              });
              this.nodes = new Map();
              nodes.forEach((c, i) => {
                const [x, y] = geometry.xy[i];
                const title = c.id.length > 24 ? c.id.slice(0, 23) + '…' : c.id;
                const rate = svg('text', { x: 10, y: 37 });
                const capacity = svg('text', { x: 10, y: 54 });
                const failed = svg('text', { x: W - 10, y: 54, 'text-anchor': 'end' });
                const tip = svg('title');
                const link = svg(
                  'a',
                  { href: G.href('topology', this.topology, 'component', c.id) },
                  svg('rect', { width: W, height: H, rx: 7 }),
                  svg('text', { x: 10, y: 19, class: 'title' }, title),
                  rate,
                  capacity,
                  failed
                );
                const place = 'translate(' + x + ',' + y + ')';
                const group = svg('g', { class: 'node', transform: place, 'data-id': c.id }, tip, link);
                nodeLayer.append(group);
                this.nodes.set(c.id, { group: group, rate: rate, capacity: capacity, failed: failed, tip: tip });
              });
              this.svg.replaceChildren(svg('defs', {}, marker), edgeLayer, nodeLayer);
              if (this.scale === null) {
                const width = this.scroll.clientWidth || 1000;
                this.setScale(Math.max(0.4, Math.min(1, (width - 4) / this.width)));
              } else {
                this.setScale(this.scale);
              }
            }
          }
          G.Dag = Dag;
        })();
        """#
}
