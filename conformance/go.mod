module github.com/shrinkmap/shrinkmap/conformance

go 1.24.0

require (
	github.com/puzpuzpuz/xsync/v4 v4.5.0
	github.com/shrinkmap/shrinkmap v0.0.0
)

replace github.com/shrinkmap/shrinkmap => ../
