package shrinkmap

import (
	"bytes"
	"encoding/gob"
	"encoding/json"
	"maps"
)

// MarshalJSON encodes the map as a JSON object, as encoding/json encodes a
// map[K]V: keys must be strings, integers or implement
// encoding.TextMarshaler. It only reads the map. O(Len).
func (m *ShrinkMap[K, V]) MarshalJSON() ([]byte, error) {
	return json.Marshal(m.plain())
}

// UnmarshalJSON sets the members of a JSON object in the map, as
// encoding/json decodes into a map[K]V; existing entries are kept unless
// overwritten. On error the map is unchanged. O(members).
func (m *ShrinkMap[K, V]) UnmarshalJSON(data []byte) error {
	var plain map[K]V
	if err := json.Unmarshal(data, &plain); err != nil {
		return err
	}
	m.Insert(maps.All(plain))
	return nil
}

// GobEncode encodes the map so that a ShrinkMap (or a struct holding one)
// can be saved with encoding/gob and decoded into a ShrinkMap by GobDecode.
// It only reads the map. O(Len).
//
// The bytes it returns are a gob stream holding one map[K]V, as
// gob.NewEncoder(w).Encode(plain) writes for a native map plain with the
// same entries (in some order), and gob.NewDecoder(r).Decode(&plain) reads
// them into a native map. But a gob stream carries a GobEncoder's bytes as
// an opaque value, not as a map: in a stream that an Encoder writes, a
// ShrinkMap (alone or as a struct field) decodes only into a type with a
// GobDecode method, such as a ShrinkMap, and a native map only into a
// native map; decoding either into the other fails with a type mismatch
// error. To read data saved with a native map field into a ShrinkMap field,
// decode it into the old type and convert the map with FromMap.
func (m *ShrinkMap[K, V]) GobEncode() ([]byte, error) {
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(m.plain()); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// GobDecode sets the entries of a map encoded by GobEncode in the map;
// existing entries are kept unless overwritten. It also reads a gob stream
// that holds one native map[K]V, as gob.NewEncoder(w).Encode(plain) writes
// it (see GobEncode). On error the map is unchanged. O(entries).
func (m *ShrinkMap[K, V]) GobDecode(data []byte) error {
	var plain map[K]V
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&plain); err != nil {
		return err
	}
	m.Insert(maps.All(plain))
	return nil
}

// plain returns a native map holding m's entries. NaN keys, which no
// lookup finds, are kept as distinct entries, as a native map keeps them.
func (m *ShrinkMap[K, V]) plain() map[K]V {
	plain := make(map[K]V, m.Len())
	for k, v := range m.All() {
		plain[k] = v
	}
	return plain
}
