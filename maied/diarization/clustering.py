"""Holding a clustering of speaker embeddings to a requested number of speakers.

senko finds the number of speakers itself (spectral clustering's eigengap under 20 minutes of audio,
UMAP + HDBSCAN beyond) and has no option to fix it. `BoundedClustering` wraps its clusterer: when the labels
it gives have more speakers than allowed, the two speakers whose mean embeddings are closest (cosine) are
merged until the count fits; when fewer, the embeddings are clustered again into the least allowed number
(average-linkage agglomerative clustering on cosine distance up to AGGLOMERATIVE_MAX embeddings, spherical
k-means beyond, both bounded in memory). So the count of speakers in the clustering always fits the
bounds; what senko's later merge step drops (turns of 0.78 s or less) can still lower the count of
speakers with turns (see the backend).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from maied.diarization.base import SpeakerBounds

AGGLOMERATIVE_MAX = 4000
"""Above this many embeddings (about 45 min of speech) re-clustering uses k-means: an agglomerative
clustering holds an n x n distance matrix."""
Clusterer = Callable[[np.ndarray], np.ndarray]


def _normalised(embeddings: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(embeddings, axis=1, keepdims=True)
    return embeddings / np.maximum(norms, 1e-12)


def merge_closest(embeddings: np.ndarray, labels: np.ndarray, most: int) -> np.ndarray:
    """Merge the two clusters with the most similar mean embeddings until at most `most` remain."""
    labels = labels.copy()
    unit = _normalised(embeddings)
    while len(np.unique(labels)) > max(most, 1):
        names = np.unique(labels)
        centres = _normalised(np.stack([unit[labels == n].mean(axis=0) for n in names]))
        similarity = centres @ centres.T
        np.fill_diagonal(similarity, -np.inf)
        a, b = np.unravel_index(int(np.argmax(similarity)), similarity.shape)
        labels[labels == names[b]] = names[a]
    return labels


def recluster(embeddings: np.ndarray, count: int) -> np.ndarray:
    """Exactly `count` clusters (or one per embedding when there are fewer embeddings)."""
    count = min(count, embeddings.shape[0])
    if count <= 1:
        return np.zeros(embeddings.shape[0], dtype=int)
    unit = _normalised(embeddings)
    if embeddings.shape[0] <= AGGLOMERATIVE_MAX:
        from sklearn.cluster import AgglomerativeClustering

        model = AgglomerativeClustering(n_clusters=count, metric="cosine", linkage="average")
        return np.asarray(model.fit_predict(unit), dtype=int)
    from sklearn.cluster import KMeans

    return np.asarray(KMeans(n_clusters=count, n_init=10, random_state=0).fit_predict(unit), dtype=int)


def fit_count(embeddings: np.ndarray, labels: np.ndarray, bounds: SpeakerBounds) -> np.ndarray:
    """`labels` changed as little as needed for the number of clusters to lie within `bounds`."""
    n = embeddings.shape[0]
    low, high = bounds.range(ceiling=n)
    low, high = min(low, n), min(high, n)
    found = len(np.unique(labels))
    if found > high:
        return merge_closest(embeddings, labels, high)
    if found < low:
        return recluster(embeddings, low)
    return labels


class BoundedClustering:
    """A clusterer (embeddings -> labels) whose number of clusters is held within `bounds`."""

    def __init__(self, inner: Clusterer, bounds: SpeakerBounds) -> None:
        self.inner, self.bounds = inner, bounds

    def __call__(self, embeddings: np.ndarray) -> np.ndarray:
        labels = np.asarray(self.inner(embeddings), dtype=int)
        if not self.bounds.given:
            return labels
        return fit_count(embeddings, labels, self.bounds)
