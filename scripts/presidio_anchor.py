#!/usr/bin/env python3
"""Anchor for the OCR redaction scorer (issue 14): Microsoft Presidio's image
redactor (presidio-image-redactor, its default Tesseract OCR + analyzer) on
the labelled set written by `ocr_set`, the boxes it would paint written as
JSON for `ocr_score DIR --boxes FILE`, which scores them exactly as it scores
orgallery (a PHI word counts when >= 90 % of its box is covered).

    python3 -m venv /tmp/presidio && /tmp/presidio/bin/pip install presidio-image-redactor
    /tmp/presidio/bin/python scripts/presidio_anchor.py DIR OUT.json [--model NAME]

The analyzer's spaCy model: NAME if given (e.g. en_core_web_lg, when it can be
installed), else en_core_web_lg if installed, else a blank English pipeline
(no statistical NER: names are then found only by Presidio's pattern and
deny-list recognizers). The JSON says which was used. CPU per image counts
this process and its Tesseract children (pytesseract runs the binary).
"""
import json
import os
import resource
import sys
import tempfile
import time


def cpu():
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def analyzer(model):
    import spacy
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    name = model
    if name is None:
        try:
            spacy.load("en_core_web_lg")
            name = "en_core_web_lg"
        except OSError:
            name = None
    if name is None:
        path = os.path.join(tempfile.gettempdir(), "presidio-blank-en")
        spacy.blank("en").to_disk(path)
        name, used = path, "blank English pipeline (no en_core_web_lg here)"
    else:
        used = name
    conf = {"nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": name}]}
    nlp = NlpEngineProvider(nlp_configuration=conf).create_engine()
    return AnalyzerEngine(nlp_engine=nlp, supported_languages=["en"]), used


def main():
    args = sys.argv[1:]
    model = None
    if "--model" in args:
        i = args.index("--model")
        model = args[i + 1]
        del args[i : i + 2]
    if len(args) != 2:
        sys.exit(__doc__)
    src, out = args
    from PIL import Image
    from presidio_image_redactor import ImageAnalyzerEngine

    engine, used = analyzer(model)
    images = ImageAnalyzerEngine(analyzer_engine=engine)
    labels = json.load(open(os.path.join(src, "labels.json")))
    result = {"engine": "presidio-image-redactor", "model": used, "images": {}}
    for n, l in enumerate(labels):
        img = Image.open(os.path.join(src, l["file"])).convert("RGB")
        t0, w0 = cpu(), time.monotonic()
        found = images.analyze(img)
        boxes = [[max(0, int(r.left)), max(0, int(r.top)), max(0, int(r.width)), max(0, int(r.height))] for r in found]
        result["images"][l["file"]] = {"boxes": boxes, "cpu_s": cpu() - t0, "wall_s": time.monotonic() - w0}
        if n % 25 == 0:
            print(f"presidio: {n}/{len(labels)}", file=sys.stderr)
    json.dump(result, open(out, "w"))


if __name__ == "__main__":
    main()
