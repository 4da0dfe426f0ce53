//go:build !shrinkmap_concurrent

package peers

// concurrentPeer reports that shrinkmap.Concurrent is not wired in: build
// with -tags shrinkmap_concurrent once the library has NewConcurrent.
func concurrentPeer[K comparable, V any]() (Peer[K, V], bool) {
	return Peer[K, V]{}, false
}
