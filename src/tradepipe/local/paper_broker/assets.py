"""What the broker says about each symbol it lists: venue, name and the flags Alpaca's Asset carries.

One table. The sample data's five large caps were all easy to borrow in 2013; three are given other flags
here on purpose, so callers meet every case Alpaca has: AAPL hard to borrow (shortable, not easy to borrow:
Alpaca opens no short in it), MSFT not shortable, GOOG not fractionable. (IBM and FB stay ordinary: the
pipeline's tests short them.) Symbols not in the table (a test's
own feed) are listed on NASDAQ with every flag true.

Alpaca's rules behind the flags (docs "Margin and Short Selling", "Fractional Trading"):
- "Alpaca currently only supports opening short positions in easy to borrow ("ETB") securities";
- a fractional order for a non-fractionable asset is rejected with "requested asset is not fractionable";
- "We do not support short sales in fractional orders".
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AssetTerms:
    exchange: str
    name: str
    shortable: bool = True
    easy_to_borrow: bool = True
    fractionable: bool = True
    marginable: bool = True


ASSETS: dict[str, AssetTerms] = {
    "AAPL": AssetTerms("NASDAQ", "Apple Inc. Common Stock", easy_to_borrow=False),
    "FB": AssetTerms("NASDAQ", "Facebook, Inc. Class A Common Stock"),
    "GOOG": AssetTerms("NASDAQ", "Google Inc. Class A Common Stock", fractionable=False),
    "IBM": AssetTerms("NYSE", "International Business Machines Corporation Common Stock"),
    "MSFT": AssetTerms("NASDAQ", "Microsoft Corporation Common Stock", shortable=False, easy_to_borrow=False),
}


def terms(symbol: str) -> AssetTerms:
    listed = ASSETS.get(symbol)
    return listed if listed is not None else AssetTerms("NASDAQ", symbol)
