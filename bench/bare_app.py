"""The baseline for the webhook benchmark: a bare Flask app with one POST /callback that reads the
body and answers 200 JSON, served by waitress with the same flags as the Procfile's web line.

    waitress-serve ... bench.bare_app:app
"""
from flask import Flask, jsonify, request

app = Flask(__name__)


@app.post("/callback")
def callback():
    request.get_data(cache=False)
    return jsonify({"status": "ok"}), 200
