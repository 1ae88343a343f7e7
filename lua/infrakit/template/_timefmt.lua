-- infrakit.template._timefmt: time values and Go's reference-time layouts
-- ("2006-01-02T15:04:05Z07:00") for Sprig's now/date/htmlDate.
--
-- A time is { sec = <seconds since the epoch, fractional> } with a
-- metatable that prints it as Go's time.Time.String() does and encodes it
-- to JSON as RFC 3339. Layout elements: January Jan 1 01 Monday Mon 2 _2
-- 02 002 __2 15 3 03 4 04 5 05 2006 06 PM pm MST -0700 -07:00 -07
-- -070000 -07:00:00 Z0700 Z07:00 Z07 Z070000 Z07:00:00 and fractional
-- seconds .000/.999 (or with a comma). Local time follows the process's
-- TZ. Pure functions; nothing here yields.
local M = {}

local floor, format = math.floor, string.format

local MONTHS = { "January", "February", "March", "April", "May", "June", "July", "August", "September",
  "October", "November", "December" }
local DAYS = { "Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday" }

local Time = { __template_kind = "time.Time" }
Time.__index = Time
M.Time = Time

--- A time value for sec seconds since the epoch.
---@param sec number
---@param utc boolean|nil  print in UTC rather than local time
---@return table
function M.new(sec, utc)
  return setmetatable({ sec = sec, utc = utc or nil }, Time)
end

--- True if v is a time value.
function M.is_time(v) return getmetatable(v) == Time end

-- Broken-down time of t (table as os.date("*t")), zone offset in seconds
-- east of UTC, zone abbreviation, nanoseconds.
local function parts(sec, utc)
  local whole = floor(sec)
  local nsec = floor((sec - whole) * 1e9 + 0.5)
  if nsec >= 1e9 then whole, nsec = whole + 1, 0 end
  if utc then return os.date("!*t", whole), 0, "UTC", nsec end
  local lt, ut = os.date("*t", whole), os.date("!*t", whole)
  ut.isdst = lt.isdst
  local offset = os.time(lt) - os.time(ut)
  local zone = os.date("%Z", whole)
  if zone == "" or zone == nil then zone = nil end
  return lt, offset, zone, nsec
end

local function zone_text(offset, colon, seconds, z)
  if z and offset == 0 then return "Z" end
  local sign = offset < 0 and "-" or "+"
  offset = math.abs(offset)
  local h, m, s = floor(offset / 3600), floor(offset / 60) % 60, offset % 60
  if seconds == "h" then return format("%s%02d", sign, h) end
  local out = colon and format("%s%02d:%02d", sign, h, m) or format("%s%02d%02d", sign, h, m)
  if seconds then out = out .. (colon and format(":%02d", s) or format("%02d", s)) end
  return out
end

-- The next layout element at i: returns its name and length, or nil.
local function element(layout, i)
  local c = layout:sub(i, i)
  local function at(s) return layout:sub(i, i + #s - 1) == s end
  if c == "J" then
    if at("January") then return "January", 7 end
    if at("Jan") then return "Jan", 3 end
  elseif c == "M" then
    if at("Monday") then return "Monday", 6 end
    if at("Mon") then return "Mon", 3 end
    if at("MST") then return "MST", 3 end
  elseif c == "0" then
    local d = layout:sub(i + 1, i + 1)
    if d:match("^[1-6]$") then return "0" .. d, 2 end
    if at("002") then return "002", 3 end
  elseif c == "1" then
    if at("15") then return "15", 2 end
    return "1", 1
  elseif c == "2" then
    if at("2006") then return "2006", 4 end
    return "2", 1
  elseif c == "_" then
    if at("_2") and not at("_2006") then return "_2", 2 end
    if at("__2") then return "__2", 3 end
  elseif c == "3" or c == "4" or c == "5" then
    return c, 1
  elseif c == "P" then
    if at("PM") then return "PM", 2 end
  elseif c == "p" then
    if at("pm") then return "pm", 2 end
  elseif c == "-" or c == "Z" then
    for _, z in ipairs { "07:00:00", "070000", "07:00", "0700", "07" } do
      if at(c .. z) then return c .. z, #z + 1 end
    end
  elseif c == "." or c == "," then
    local run = layout:match("^[09]+", i + 1)
    if run and run:match("^0+$") or run and run:match("^9+$") then
      local after = layout:sub(i + 1 + #run, i + 1 + #run)
      if not after:match("%d") then return (run:sub(1, 1) == "0" and "frac0" or "frac9"), #run + 1 end
    end
  end
  return nil
end

--- Formats a time (a time value or seconds since the epoch) with a Go
--- layout.
---@param t table|number
---@param layout string
---@return string
function M.format(t, layout)
  local sec, utc
  if type(t) == "table" then sec, utc = t.sec, t.utc else sec = t end
  local d, offset, zone, nsec = parts(sec, utc)
  local hour12 = d.hour % 12
  if hour12 == 0 then hour12 = 12 end
  local out, i, n = {}, 1, #layout
  while i <= n do
    local el, len = element(layout, i)
    if not el then
      out[#out + 1] = layout:sub(i, i)
      i = i + 1
    else
      local s
      if el == "January" then s = MONTHS[d.month]
      elseif el == "Jan" then s = MONTHS[d.month]:sub(1, 3)
      elseif el == "Monday" then s = DAYS[d.wday]
      elseif el == "Mon" then s = DAYS[d.wday]:sub(1, 3)
      elseif el == "MST" then s = zone or zone_text(offset, false, "h")
      elseif el == "01" then s = format("%02d", d.month)
      elseif el == "02" then s = format("%02d", d.day)
      elseif el == "03" then s = format("%02d", hour12)
      elseif el == "04" then s = format("%02d", d.min)
      elseif el == "05" then s = format("%02d", d.sec)
      elseif el == "06" then s = format("%02d", d.year % 100)
      elseif el == "002" then s = format("%03d", d.yday)
      elseif el == "__2" then s = format("%3d", d.yday)
      elseif el == "15" then s = format("%02d", d.hour)
      elseif el == "1" then s = tostring(d.month)
      elseif el == "2006" then s = format("%04d", d.year)
      elseif el == "2" then s = tostring(d.day)
      elseif el == "_2" then s = format("%2d", d.day)
      elseif el == "3" then s = tostring(hour12)
      elseif el == "4" then s = tostring(d.min)
      elseif el == "5" then s = tostring(d.sec)
      elseif el == "PM" then s = d.hour >= 12 and "PM" or "AM"
      elseif el == "pm" then s = d.hour >= 12 and "pm" or "am"
      elseif el == "frac0" or el == "frac9" then
        local digits = format("%09d", nsec):sub(1, len - 1)
        if el == "frac9" then digits = digits:gsub("0+$", "") end
        s = digits == "" and "" or layout:sub(i, i) .. digits
      else -- zones
        local z = el:sub(1, 1) == "Z"
        local rest = el:sub(2)
        local colon = rest:find(":", 1, true) ~= nil
        local seconds = (rest == "07:00:00" or rest == "070000") and true or (rest == "07" and "h" or nil)
        s = zone_text(offset, colon, seconds, z)
      end
      out[#out + 1] = s
      i = i + len
    end
  end
  return table.concat(out)
end

-- Go's time.Time.String(): "2006-01-02 15:04:05.999999999 -0700 MST".
Time.__tostring = function(t)
  return M.format(t, "2006-01-02 15:04:05.999999999 -0700 MST")
end

-- JSON: RFC 3339 with nanoseconds, as time.Time.MarshalJSON.
Time.__template_json = function(t)
  return '"' .. M.format(t, "2006-01-02T15:04:05.999999999Z07:00") .. '"'
end

return M
