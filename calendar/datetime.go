package calendar

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// DateTimeTimeZone is Graph's dateTimeTimeZone: a wall-clock time and the
// zone it is in. Time is always in UTC; TimeZone is the zone Graph wrote the
// value in ("UTC" with graphclient's default Prefer: outlook.timezone, or a
// Windows or IANA zone name otherwise).
//
// On the wire it is {"dateTime":"2016-12-09T20:30:00.0000000","timeZone":"UTC"}
// (seven fractional digits, no offset). Decoding converts the wall time from
// TimeZone to UTC (a zone the system's time-zone database does not know is
// an error rather than a silently wrong time); encoding writes UTC. A plain
// value.
type DateTimeTimeZone struct {
	Time     time.Time
	TimeZone string
}

const utc = "UTC"

// wireLayout is how Graph writes dateTime: seven fractional digits, no offset.
const wireLayout = "2006-01-02T15:04:05.0000000"

// MarshalJSON writes the value in UTC the way Graph does.
func (d DateTimeTimeZone) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 64)
	b = append(b, `{"dateTime":"`...)
	b = d.Time.UTC().AppendFormat(b, wireLayout)
	b = append(b, `","timeZone":"UTC"}`...)
	return b, nil
}

// UnmarshalJSON reads Graph's {dateTime, timeZone} pair. It is on the hot
// path of every sync, so the common compact shape is scanned by hand;
// anything else goes through encoding/json.
func (d *DateTimeTimeZone) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		*d = DateTimeTimeZone{}
		return nil
	}
	dt, tz, ok := scanDateTimeTimeZone(b)
	var zone string
	if ok {
		zone = internZone(tz)
	} else {
		var aux struct {
			DateTime string `json:"dateTime"`
			TimeZone string `json:"timeZone"`
		}
		if err := json.Unmarshal(b, &aux); err != nil {
			return fmt.Errorf("calendar: dateTimeTimeZone: %w", err)
		}
		dt, zone = []byte(aux.DateTime), aux.TimeZone
	}
	t, err := parseGraphDateTime(dt, zone)
	if err != nil {
		return err
	}
	d.Time, d.TimeZone = t, zone
	return nil
}

// internZone returns the zone name as a string, without allocating for UTC.
func internZone(tz []byte) string {
	if string(tz) == utc { // the compiler does not allocate for this comparison
		return utc
	}
	return string(tz)
}

// scanDateTimeTimeZone reads {"dateTime":"…","timeZone":"…"} with optional
// whitespace, in either order, without escapes. ok is false for any other
// shape (the caller then uses encoding/json).
func scanDateTimeTimeZone(b []byte) (dt, tz []byte, ok bool) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return nil, nil, false
	}
	i++
	var haveDT bool
	for {
		i = skipSpace(b, i)
		if i < len(b) && b[i] == '}' {
			return dt, tz, haveDT && skipSpace(b, i+1) == len(b)
		}
		key, n, ok := scanString(b, i)
		if !ok {
			return nil, nil, false
		}
		i = skipSpace(b, n)
		if i >= len(b) || b[i] != ':' {
			return nil, nil, false
		}
		i = skipSpace(b, i+1)
		if i < len(b) && b[i] == 'n' && bytes.HasPrefix(b[i:], []byte("null")) {
			i += 4
		} else {
			val, n, ok := scanString(b, i)
			if !ok {
				return nil, nil, false
			}
			i = n
			switch string(key) {
			case "dateTime":
				dt, haveDT = val, true
			case "timeZone":
				tz = val
			}
		}
		i = skipSpace(b, i)
		if i < len(b) && b[i] == ',' {
			i++
		}
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
		i++
	}
	return i
}

// scanString reads a JSON string without escapes starting at b[i] == '"'.
func scanString(b []byte, i int) (s []byte, next int, ok bool) {
	if i >= len(b) || b[i] != '"' {
		return nil, 0, false
	}
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '"':
			return b[i+1 : j], j + 1, true
		case '\\':
			return nil, 0, false
		}
	}
	return nil, 0, false
}

// parseGraphDateTime parses "2006-01-02T15:04:05[.fffffff][Z|±hh:mm]" as a
// wall time in zone (when it carries no offset) and returns it in UTC.
func parseGraphDateTime(s []byte, zone string) (time.Time, error) {
	bad := func() (time.Time, error) {
		return time.Time{}, fmt.Errorf("calendar: dateTime %q is not an ISO 8601 date-time", truncate(string(s), 40))
	}
	if len(s) < 19 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ') || s[13] != ':' || s[16] != ':' {
		return bad()
	}
	year, ok1 := digits(s[0:4])
	month, ok2 := digits(s[5:7])
	day, ok3 := digits(s[8:10])
	hour, ok4 := digits(s[11:13])
	minute, ok5 := digits(s[14:16])
	sec, ok6 := digits(s[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || month < 1 || month > 12 || day < 1 || day > 31 || hour > 24 || minute > 59 || sec > 60 {
		return bad()
	}
	i := 19
	nsec := 0
	if i < len(s) && s[i] == '.' {
		i++
		scale := 100000000
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			if scale > 0 {
				nsec += int(s[i]-'0') * scale
				scale /= 10
			}
			i++
		}
		if i == start {
			return bad()
		}
	}
	var loc *time.Location
	offset, hasOffset := 0, false
	switch {
	case i == len(s):
	case s[i] == 'Z' && i+1 == len(s):
		hasOffset = true
	case (s[i] == '+' || s[i] == '-') && len(s)-i == 6 && s[i+3] == ':':
		oh, ok1 := digits(s[i+1 : i+3])
		om, ok2 := digits(s[i+4 : i+6])
		if !ok1 || !ok2 {
			return bad()
		}
		offset = oh*3600 + om*60
		if s[i] == '-' {
			offset = -offset
		}
		hasOffset = true
	default:
		return bad()
	}
	if hasOffset {
		loc = time.UTC
	} else {
		var err error
		if loc, err = zoneLocation(zone); err != nil {
			return time.Time{}, err
		}
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, loc)
	if offset != 0 {
		t = t.Add(-time.Duration(offset) * time.Second)
	}
	return t.UTC(), nil
}

func digits(b []byte) (int, bool) {
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// zoneLocation resolves a zone Graph may send: UTC, an IANA name, or a
// Windows zone name (what Outlook uses when Prefer: outlook.timezone names
// one).
func zoneLocation(zone string) (*time.Location, error) {
	switch zone {
	case "", utc, "Etc/UTC", "Etc/GMT", "GMT", "tzone://Microsoft/Utc", "Coordinated Universal Time":
		return time.UTC, nil
	}
	if iana := windowsZone(zone); iana != "" {
		zone = iana
	}
	if zone == "Local" {
		// LoadLocation would answer with this machine's zone.
		return nil, fmt.Errorf("calendar: time zone %q is not a zone name", zone)
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		return nil, fmt.Errorf("calendar: unknown time zone %q (ask Graph for UTC, graphclient's default): %w", truncate(zone, 60), err)
	}
	return loc, nil
}

// windowsZone maps the common Windows time-zone IDs to IANA names (from
// CLDR's windowsZones.xml, territory 001).
func windowsZone(name string) string {
	switch name {
	case "Dateline Standard Time":
		return "Etc/GMT+12"
	case "Hawaiian Standard Time":
		return "Pacific/Honolulu"
	case "Alaskan Standard Time":
		return "America/Anchorage"
	case "Pacific Standard Time":
		return "America/Los_Angeles"
	case "US Mountain Standard Time":
		return "America/Phoenix"
	case "Mountain Standard Time":
		return "America/Denver"
	case "Central Standard Time":
		return "America/Chicago"
	case "Central America Standard Time":
		return "America/Guatemala"
	case "Canada Central Standard Time":
		return "America/Regina"
	case "Eastern Standard Time":
		return "America/New_York"
	case "US Eastern Standard Time":
		return "America/Indianapolis"
	case "Atlantic Standard Time":
		return "America/Halifax"
	case "Newfoundland Standard Time":
		return "America/St_Johns"
	case "E. South America Standard Time":
		return "America/Sao_Paulo"
	case "Argentina Standard Time":
		return "America/Buenos_Aires"
	case "SA Pacific Standard Time":
		return "America/Bogota"
	case "Pacific SA Standard Time":
		return "America/Santiago"
	case "Mexico Standard Time", "Central Standard Time (Mexico)":
		return "America/Mexico_City"
	case "GMT Standard Time":
		return "Europe/London"
	case "Greenwich Standard Time":
		return "Atlantic/Reykjavik"
	case "W. Europe Standard Time":
		return "Europe/Berlin"
	case "Romance Standard Time":
		return "Europe/Paris"
	case "Central Europe Standard Time":
		return "Europe/Budapest"
	case "Central European Standard Time":
		return "Europe/Warsaw"
	case "GTB Standard Time":
		return "Europe/Bucharest"
	case "FLE Standard Time":
		return "Europe/Kiev"
	case "E. Europe Standard Time":
		return "Europe/Chisinau"
	case "Israel Standard Time":
		return "Asia/Jerusalem"
	case "South Africa Standard Time":
		return "Africa/Johannesburg"
	case "Egypt Standard Time":
		return "Africa/Cairo"
	case "Turkey Standard Time":
		return "Europe/Istanbul"
	case "Russian Standard Time":
		return "Europe/Moscow"
	case "Arabian Standard Time":
		return "Asia/Dubai"
	case "Arab Standard Time":
		return "Asia/Riyadh"
	case "Iran Standard Time":
		return "Asia/Tehran"
	case "Pakistan Standard Time":
		return "Asia/Karachi"
	case "India Standard Time":
		return "Asia/Calcutta"
	case "Nepal Standard Time":
		return "Asia/Katmandu"
	case "Bangladesh Standard Time":
		return "Asia/Dhaka"
	case "SE Asia Standard Time":
		return "Asia/Bangkok"
	case "China Standard Time":
		return "Asia/Shanghai"
	case "Singapore Standard Time":
		return "Asia/Singapore"
	case "Taipei Standard Time":
		return "Asia/Taipei"
	case "W. Australia Standard Time":
		return "Australia/Perth"
	case "Tokyo Standard Time":
		return "Asia/Tokyo"
	case "Korea Standard Time":
		return "Asia/Seoul"
	case "Cen. Australia Standard Time":
		return "Australia/Adelaide"
	case "AUS Eastern Standard Time":
		return "Australia/Sydney"
	case "E. Australia Standard Time":
		return "Australia/Brisbane"
	case "New Zealand Standard Time":
		return "Pacific/Auckland"
	case "UTC-11":
		return "Etc/GMT+11"
	case "UTC-02":
		return "Etc/GMT+2"
	case "UTC+12":
		return "Etc/GMT-12"
	}
	return ""
}

// truncate shortens s for error messages.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
