// The plotly.js that Vigil serves: its core and only the trace types the UI draws (time
// series as scatter and bar, heatmap, and the gauges' indicator). `cargo xtask build-web`
// bundles it with esbuild; the full plotly.js build is four times larger and takes about a
// second longer to start on a slow machine.
var Plotly = require('plotly.js/lib/core');

Plotly.register([
  require('plotly.js/lib/scatter'),
  require('plotly.js/lib/bar'),
  require('plotly.js/lib/heatmap'),
  require('plotly.js/lib/indicator'),
]);

window.Plotly = Plotly;
