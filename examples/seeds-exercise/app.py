# The "flask" app of the seeds' exercise, standing in with Python's standard library:
# it answers with what it gets from the database service, reached by its name "mongo".
import http.server, urllib.request
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = urllib.request.urlopen("http://mongo:27017/hostname", timeout=5).read()
        self.send_response(200); self.end_headers(); self.wfile.write(b"app saw db " + body)
http.server.HTTPServer(("", 5000), H).serve_forever()
