"""A web server from the standard library, started by the Procfile's web process."""

import argparse
import http.server


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"Hello from the Procfile's web process!\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, required=True)
port = parser.parse_args().port
print(f"Listening on port {port}", flush=True)
http.server.HTTPServer(("0.0.0.0", port), Handler).serve_forever()
