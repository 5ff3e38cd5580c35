// The dashboards keyed by path from the repository root; mixin/render.sh
// writes them with jsonnet -m (jsonnet's own JSON output: std.manifestJsonEx
// takes seconds per dashboard in the C++ jsonnet of Debian 12).
local mixin = import 'mixin.libsonnet';

{
  ['dashboards/' + name]: mixin.grafanaDashboards[name]
  for name in std.objectFields(mixin.grafanaDashboards)
}
