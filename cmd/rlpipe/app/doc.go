// Package app is the rlpipe command line: flag and configuration parsing on
// top of package pipeline. It is importable so that a user's own main can
// register custom Go rewards (reward.Register) and then call Main.
package app
