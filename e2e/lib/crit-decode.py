# Decodes image files as `crit decode -i FILE` does (pycriu.images.load,
# then JSON), many in one process: one line of JSON per file,
#   {"file": F, "ok": true, "nr_pages": [...] (pagemaps: each run's count)}
#   {"file": F, "ok": false, "error": "..."}
# and first {"pycriu": PATH} (which crit's library answered). Which crit is
# whichever pycriu comes first on sys.path (PYTHONPATH).
import json
import sys

import pycriu

print(json.dumps({"pycriu": pycriu.__file__}))
for path in sys.argv[1:]:
    try:
        with open(path, "rb") as f:
            img = pycriu.images.load(f, False, False)
        json.dumps(img)
        line = {"file": path, "ok": True}
        if img.get("magic") == "PAGEMAP":
            line["nr_pages"] = [e.get("nr_pages", 0) for e in img["entries"][1:]]
        print(json.dumps(line))
    except Exception as error:  # noqa: BLE001 -- report any decoder failure for this file
        print(json.dumps({"file": path, "ok": False, "error": "%s: %s" % (type(error).__name__, error)}))
