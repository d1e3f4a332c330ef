"""A real OpenTelemetry Python SDK exporting metrics to Vigil over OTLP/HTTP (protobuf, gzip).

Used by backend/tests/otlp_peer.rs:

    otlp_export.py BASE_URL API_KEY

Records a counter, an up-down counter, an observable gauge and a histogram, exports them twice
(the second export carries the cumulative totals) and exits non-zero unless Vigil accepted
every export.
"""

import sys

from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.metrics import Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricExportResult, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource


class CheckedExporter(OTLPMetricExporter):
    """Remembers every export's result, so a refused export fails the script."""

    results = []

    def export(self, metrics_data, timeout_millis=10_000, **kwargs):
        result = super().export(metrics_data, timeout_millis=timeout_millis, **kwargs)
        self.results.append(result)
        return result


def main() -> int:
    base_url, api_key = sys.argv[1], sys.argv[2]
    exporter = CheckedExporter(
        endpoint=f"{base_url}/v1/metrics",
        headers={"Authorization": f"Bearer {api_key}"},
        compression=Compression.Gzip,
        timeout=10,
    )
    # A long interval: exports happen when the test asks (force_flush), not on a timer.
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)
    resource = Resource.create(
        {
            "service.name": "peer-shop",
            "service.instance.id": "peer-1",
            "deployment.environment": "test",
        }
    )
    provider = MeterProvider(resource=resource, metric_readers=[reader])
    meter = provider.get_meter("vigil.peer", "1.0.0")

    orders = meter.create_counter("orders.placed", unit="{order}", description="Orders placed.")
    queue = meter.create_up_down_counter("queue.size", description="Jobs waiting.")
    meter.create_observable_gauge(
        "room.temperature",
        callbacks=[lambda _options: [Observation(21.5, {"room": "lab"})]],
        unit="Cel",
        description="Temperature.",
    )
    latency = meter.create_histogram(
        "checkout.duration", unit="s", description="Checkout latency."
    )

    orders.add(3, {"payment.method": "card"})
    orders.add(1, {"payment.method": "cash"})
    queue.add(5)
    for seconds in (0.004, 0.02, 0.3, 2.0):
        latency.record(seconds, {"http.route": "/pay"})
    if not provider.force_flush(10_000):
        print("the first export did not finish", file=sys.stderr)
        return 1

    orders.add(2, {"payment.method": "card"})
    queue.add(-2)
    latency.record(7.0, {"http.route": "/pay"})
    if not provider.force_flush(10_000):
        print("the second export did not finish", file=sys.stderr)
        return 1
    provider.shutdown()

    failed = [r for r in CheckedExporter.results if r != MetricExportResult.SUCCESS]
    if not CheckedExporter.results or failed:
        print(f"exports: {CheckedExporter.results}", file=sys.stderr)
        return 1
    print(f"{len(CheckedExporter.results)} exports accepted")
    return 0


if __name__ == "__main__":
    sys.exit(main())
