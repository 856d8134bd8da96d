"""What Matplotlib draws: the texts of the pictures (for tests of ``core.visualize`` and ``bot.pictures``)."""

from __future__ import annotations

from matplotlib.figure import Figure


def texts_drawn(monkeypatch) -> list[str]:
    """Collect every text Matplotlib draws into figures from now on (until ``monkeypatch`` undoes it)."""
    drawn: list[str] = []
    original = Figure.savefig

    def savefig(self, *args, **kwargs):
        drawn.extend(text.get_text() for text in self.findobj(lambda artist: hasattr(artist, "get_text")))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", savefig)
    return drawn
