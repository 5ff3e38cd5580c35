// The wechat-exporter monitoring mixin: recording rules, alerts and
// Grafana dashboards, rendered into deploy/ and dashboards/ by render.sh.
(import 'config.libsonnet') +
(import 'rules/rules.libsonnet') +
(import 'alerts/alerts.libsonnet') +
(import 'dashboards/dashboards.libsonnet') +
(import 'dashboards/official-account.libsonnet') +
(import 'dashboards/miniprogram-performance.libsonnet') +
(import 'dashboards/operations.libsonnet')
