"""``llmmon alert-quality``: how the whole rule set behaves on realistic traffic.

``scenarios`` (healthy days and incidents, as fleets of router pods over time) → ``simulate``
(the series real ``MetricsCollector``s expose, scraped at the env's interval) → ``engine``
(promtool's rule engine decides when each alert fires) → ``score`` (false firing, misses, time
to detect and to notify) → ``report``. ``run.score`` ties them together for one env.
"""
