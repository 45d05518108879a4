"""The teaching app: controls (:mod:`.controls`), pictures (:mod:`.render`), the Solara page
(:mod:`.page`), the server (:mod:`.serve`) and the guided lesson (:mod:`.lesson`)."""
