"""Hit enrichment as an ordered list of small named steps (see ``pipeline.py``).

Each step module is pure and testable without a broker: ``urls`` (host, path, referrer host),
``bots`` (script clients, headless browsers, crawlers), ``useragent`` (browser, OS, device on
ua-parser's Rust resolver), ``geoip`` (country, region, city from an mmdb file), ``localtime``
(wall-clock time in the site's timezone). ``metrics`` holds the counters the steps feed.
"""

from streams.enrich.metrics import StreamCounters
from streams.enrich.pipeline import EnrichResult, Pipeline, build_pipeline

__all__ = ["EnrichResult", "Pipeline", "StreamCounters", "build_pipeline"]
