package chattemplate

import (
	"strconv"
	"strings"
	"time"
)

// Strftime formats t as Python's datetime.strftime does on Linux (glibc, C
// locale) for a naive datetime, which is what transformers' strftime_now
// formats (datetime.now()). It is exported so callers can build the same
// date strings a template would, e.g. for Options.Extra["date_string"].
//
// Supported directives: %a %A %w %u %d %e %j %b %h %B %m %y %Y %C %G %g %H
// %k %I %l %p %M %S %f %U %W %V %D %F %T %R %r %c %x %X %n %t %s %% and
// glibc's "-" flag (%-d) that drops padding. %z and %Z are empty, as for a
// naive datetime. An unknown directive is kept literally, as glibc does.
func Strftime(t time.Time, format string) string {
	var b strings.Builder
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' || i+1 >= len(format) {
			b.WriteByte(c)
			continue
		}
		j := i + 1
		pad := true
		if format[j] == '-' && j+1 < len(format) {
			pad = false
			j++
		}
		if s, ok := directive(t, format[j], pad); ok {
			b.WriteString(s)
			i = j
			continue
		}
		b.WriteString(format[i : j+1])
		i = j
	}
	return b.String()
}

// directive expands one conversion character; ok is false when unknown.
func directive(t time.Time, c byte, pad bool) (string, bool) {
	num := func(n, width int, fill byte) string {
		s := strconv.Itoa(n)
		if !pad {
			return s
		}
		for len(s) < width {
			s = string(fill) + s
		}
		return s
	}
	if s, ok := dateField(t, c, num); ok {
		return s, true
	}
	if s, ok := timeField(t, c, num); ok {
		return s, true
	}
	return composite(t, c)
}

// padder formats n to width with fill, unless the "-" flag was given.
type padder func(n, width int, fill byte) string

// dateField expands the directives of the calendar date.
func dateField(t time.Time, c byte, num padder) (string, bool) {
	isoYear, isoWeek := t.ISOWeek()
	wday := int(t.Weekday()) // Sunday = 0
	yday := t.YearDay() - 1
	switch c {
	case 'a':
		return t.Format("Mon"), true
	case 'A':
		return t.Format("Monday"), true
	case 'w':
		return strconv.Itoa(wday), true
	case 'u':
		return strconv.Itoa((wday+6)%7 + 1), true
	case 'd':
		return num(t.Day(), 2, '0'), true
	case 'e':
		return num(t.Day(), 2, ' '), true
	case 'j':
		return num(yday+1, 3, '0'), true
	case 'b', 'h':
		return t.Format("Jan"), true
	case 'B':
		return t.Format("January"), true
	case 'm':
		return num(int(t.Month()), 2, '0'), true
	case 'y':
		return num(t.Year()%100, 2, '0'), true
	case 'Y':
		return strconv.Itoa(t.Year()), true
	case 'C':
		return num(t.Year()/100, 2, '0'), true
	case 'G':
		return strconv.Itoa(isoYear), true
	case 'g':
		return num(isoYear%100, 2, '0'), true
	case 'U':
		return num((yday+7-wday)/7, 2, '0'), true
	case 'W':
		return num((yday+7-(wday+6)%7)/7, 2, '0'), true
	case 'V':
		return num(isoWeek, 2, '0'), true
	}
	return "", false
}

// timeField expands the directives of the time of day and the literals.
func timeField(t time.Time, c byte, num padder) (string, bool) {
	hour12 := t.Hour() % 12
	if hour12 == 0 {
		hour12 = 12
	}
	switch c {
	case 'H':
		return num(t.Hour(), 2, '0'), true
	case 'k':
		return num(t.Hour(), 2, ' '), true
	case 'I':
		return num(hour12, 2, '0'), true
	case 'l':
		return num(hour12, 2, ' '), true
	case 'p':
		if t.Hour() < 12 {
			return "AM", true
		}
		return "PM", true
	case 'M':
		return num(t.Minute(), 2, '0'), true
	case 'S':
		return num(t.Second(), 2, '0'), true
	case 'f':
		return num(t.Nanosecond()/1000, 6, '0'), true
	case 'z', 'Z':
		return "", true // a naive datetime has no zone
	case 's':
		return strconv.FormatInt(t.Unix(), 10), true
	case 'n':
		return "\n", true
	case 't':
		return "\t", true
	case '%':
		return "%", true
	}
	return "", false
}

// composite expands the directives that stand for several others.
func composite(t time.Time, c byte) (string, bool) {
	switch c {
	case 'D', 'x':
		return Strftime(t, "%m/%d/%y"), true
	case 'F':
		return Strftime(t, "%Y-%m-%d"), true
	case 'T', 'X':
		return Strftime(t, "%H:%M:%S"), true
	case 'R':
		return Strftime(t, "%H:%M"), true
	case 'r':
		return Strftime(t, "%I:%M:%S %p"), true
	case 'c':
		return Strftime(t, "%a %b %e %H:%M:%S %Y"), true
	}
	return "", false
}
