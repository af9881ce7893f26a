package bunstore

import "database/sql"

// Stats is the connection pool's statistics, for metrics.
func (s *Store) Stats() sql.DBStats { return s.db.Stats() }
