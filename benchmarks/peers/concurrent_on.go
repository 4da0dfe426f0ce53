//go:build shrinkmap_concurrent

package peers

import "github.com/shrinkmap/shrinkmap"

// concurrentPeer returns shrinkmap.Concurrent with its default options.
func concurrentPeer[K comparable, V any]() (Peer[K, V], bool) {
	return Peer[K, V]{Name: Concurrent, Safe: true, New: func() Map[K, V] {
		return shrinkmap.NewConcurrent[K, V]()
	}}, true
}
