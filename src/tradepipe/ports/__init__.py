"""Small interfaces between the use cases and the outside world, named in trading terms, one module per
concern: `clock`, `secrets`, `stores` (signals, orders, fills), `broker`, `risk_state` (one port per
aggregate of the risk-state table), `messaging` (queues, domain events), `search`, `market_data`.

Adapters implement them (`tradepipe.adapters`); the composition root (`tradepipe.composition`) picks the
implementations; use cases (`tradepipe.app`) see only these."""
