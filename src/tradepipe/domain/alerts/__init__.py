"""Intake formats: from a raw webhook body to one normalized Signal, whatever TradingView sent."""
