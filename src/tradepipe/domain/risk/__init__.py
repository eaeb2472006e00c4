"""The risk engine: sizing modes, caps, trading states, symbol rules, the market clock and ATR stop checks.

Pure: `assess(signal, context, profile, now)` decides from values the app layer gathered (account, positions,
clock, bars, history). Modelled on nautilus_trader's RiskEngine (ACTIVE / REDUCING / HALTED, pre-trade
notional checks, order-rate throttle), freqtrade's protections (drawdown, stoploss guard, cooldown) and
PineConnector / TradersPost sizing and entry rules.
"""
