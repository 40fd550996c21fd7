//go:build unix

package tenancy

import (
	"errors"
	"os"
	"syscall"
)

// sqliteShmDMS is the byte of a WAL database's -shm file on which every
// connection holds a shared lock while it has the database open (SQLite's
// UNIX_SHM_DMS: (22+8)*4 + 8).
const sqliteShmDMS = 128

// sqliteHolder returns the id of another process that has the SQLite
// database at path open (0 when none), by asking for the lock that
// process holds without taking it. Connections of this process are not seen.
func sqliteHolder(path string) (int, error) {
	f, err := os.Open(path + "-shm")
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil // no -shm file: nobody has the database open in WAL mode
	}
	if err != nil {
		return 0, err
	}
	defer f.Close()
	lk := syscall.Flock_t{Type: syscall.F_WRLCK, Whence: 0, Start: sqliteShmDMS, Len: 1}
	if err := syscall.FcntlFlock(f.Fd(), syscall.F_GETLK, &lk); err != nil {
		return 0, err
	}
	if lk.Type == syscall.F_UNLCK {
		return 0, nil
	}
	return int(lk.Pid), nil
}
