#pragma once

#include <string_view>

namespace detour {

// The reason phrase for a status code ("Temporary Redirect"); "Unknown" for codes without one.
std::string_view statusReason(int status);

}  // namespace detour
