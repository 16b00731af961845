"""The supervisor console: a web application (FastAPI, Jinja2 templates, no assets from a CDN) in Chinese.

It shows what the hall's processes publish and the store holds; it writes nothing that costs or restores
points itself: a dismissal, a leave or a patrol finding goes to the recorder signed with the console's key
and names the person logged in (docs/console.md, docs/security.md).
"""
