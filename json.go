package shrinkmap

import "encoding/json"

// MarshalJSON encodes the map as a JSON object, as encoding/json encodes a
// map[K]V: keys must be strings, integers or implement
// encoding.TextMarshaler. O(Len).
func (m *ShrinkMap[K, V]) MarshalJSON() ([]byte, error) {
	plain := make(map[K]V, m.Len())
	for k, v := range m.All() {
		plain[k] = v
	}
	return json.Marshal(plain)
}

// UnmarshalJSON sets the members of a JSON object in the map, as
// encoding/json decodes into a map[K]V; existing entries are kept unless
// overwritten. On error the map is unchanged. O(members).
func (m *ShrinkMap[K, V]) UnmarshalJSON(data []byte) error {
	var plain map[K]V
	if err := json.Unmarshal(data, &plain); err != nil {
		return err
	}
	for k, v := range plain {
		m.Set(k, v)
	}
	return nil
}
