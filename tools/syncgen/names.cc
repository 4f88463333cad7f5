// Name tables and draws; see names.h.
//
// Surname weights are approximate shares of the population in units of 0.01% (the ranking of
// the public security household registry, rounded); the ~100 listed cover about 85%, so the
// table is a fair national sample (山东's and 福建's own orders differ a little).
#include "tools/syncgen/names.h"

#include <array>
#include <cstdint>
#include <utility>

namespace stationsync::syncgen {
namespace {

struct Surname {
  std::string_view name;
  uint64_t weight;  // 0.01% of the population
};

constexpr Surname kSurnames[] = {
    {"王", 725}, {"李", 719}, {"张", 692}, {"刘", 538}, {"陈", 453}, {"杨", 308}, {"黄", 224},
    {"赵", 229}, {"吴", 200}, {"周", 195}, {"徐", 153}, {"孙", 152}, {"马", 146}, {"朱", 126},
    {"胡", 123}, {"郭", 118}, {"何", 117}, {"林", 114}, {"高", 107}, {"罗", 107}, {"郑", 97},
    {"梁", 88},  {"谢", 81},  {"宋", 76},  {"唐", 75},  {"许", 69},  {"韩", 68},  {"冯", 66},
    {"邓", 65},  {"曹", 63},  {"彭", 61},  {"曾", 60},  {"肖", 58},  {"田", 57},  {"董", 56},
    {"袁", 54},  {"潘", 53},  {"于", 52},  {"蒋", 51},  {"蔡", 50},  {"余", 49},  {"杜", 48},
    {"叶", 47},  {"程", 46},  {"苏", 45},  {"魏", 44},  {"吕", 43},  {"丁", 42},  {"任", 41},
    {"沈", 40},  {"姚", 39},  {"卢", 38},  {"姜", 37},  {"崔", 36},  {"钟", 35},  {"谭", 34},
    {"陆", 33},  {"汪", 32},  {"范", 31},  {"金", 30},  {"石", 29},  {"廖", 28},  {"贾", 28},
    {"夏", 27},  {"韦", 27},  {"付", 26},  {"方", 25},  {"白", 25},  {"邹", 24},  {"孟", 24},
    {"熊", 23},  {"秦", 23},  {"邱", 22},  {"江", 22},  {"尹", 21},  {"薛", 21},  {"闫", 20},
    {"段", 20},  {"雷", 19},  {"侯", 19},  {"龙", 18},  {"史", 18},  {"陶", 17},  {"黎", 17},
    {"贺", 16},  {"顾", 16},  {"毛", 15},  {"郝", 15},  {"龚", 14},  {"邵", 14},  {"万", 13},
    {"钱", 13},  {"严", 13},  {"覃", 12},  {"武", 12},  {"戴", 12},  {"莫", 11},  {"孔", 11},
    {"向", 11},  {"汤", 10},
};

constexpr std::string_view kMaleChars[] = {
    "伟", "强", "磊", "军", "勇", "杰", "涛", "斌", "超", "明", "刚", "平", "辉", "鹏", "华",
    "飞", "鑫", "波", "宇", "浩", "凯", "健", "俊", "帆", "帅", "旭", "宁", "龙", "林", "建",
    "国", "峰", "志", "成", "海", "东", "文", "亮", "兵", "庆", "德", "新", "生", "春", "永",
    "金", "福", "祥", "顺", "利", "学", "传", "喜", "胜", "昌", "振", "民", "光", "洪", "立"};

constexpr std::string_view kFemaleChars[] = {
    "芳", "娜", "敏", "静", "丽", "艳", "娟", "霞", "秀", "玲", "燕", "梅", "英", "华", "慧",
    "婷", "雪", "琳", "晶", "颖", "倩", "洁", "萍", "兰", "红", "琴", "云", "凤", "欣", "桂",
    "莲", "珍", "荣", "春", "美", "翠", "淑", "爱", "月", "彩", "玉", "香", "丹", "莉", "佳"};

constexpr std::string_view kModernMale[] = {"浩然", "子轩", "宇轩", "梓睿", "俊熙", "一鸣",
                                            "子墨", "浩宇", "梓豪", "铭泽", "宇航", "博文",
                                            "皓轩", "思远", "嘉豪", "晨阳", "沐宸", "奕辰"};

constexpr std::string_view kModernFemale[] = {"子涵", "欣怡", "梓涵", "一诺", "诗涵", "雨桐",
                                              "可馨", "梦琪", "语嫣", "若汐", "思彤", "佳怡",
                                              "紫萱", "欣妍", "雨萱", "梓萌", "芷若", "沐晴"};

constexpr std::string_view kMongolianMale[] = {
    "巴特尔", "乌力吉", "宝音", "额尔敦", "那日苏",   "苏和",    "朝鲁",   "布和",
    "巴雅尔", "阿拉坦", "孟和", "达来",   "格日勒图", "满都拉",  "特木尔", "哈斯",
    "白音",   "吉日嘎", "图门", "额日和", "巴图",     "敖日格乐"};

constexpr std::string_view kMongolianFemale[] = {
    "其其格", "萨仁",   "斯琴",   "图雅", "乌云", "娜仁",   "高娃",   "塔娜",   "其木格",
    "托娅",   "阿如娜", "萨日娜", "格根", "乌兰", "琪琪格", "苏日娜", "乌日娜", "额尔德尼"};

const WeightedTable& SurnameTable() {
  static const WeightedTable kTable = [] {
    std::array<uint64_t, std::size(kSurnames)> weights{};
    for (size_t i = 0; i < weights.size(); ++i) weights[i] = kSurnames[i].weight;
    return WeightedTable(weights);
  }();
  return kTable;
}

}  // namespace

std::string_view DrawSurname(Rng& rng) {
  return kSurnames[SurnameTable().Draw(rng)].name;
}

std::string DrawGivenName(Rng& rng, bool male, int birth_year) {
  if (birth_year >= 2005 && rng.Chance(0.45)) {
    return std::string(male ? rng.Pick(kModernMale) : rng.Pick(kModernFemale));
  }
  std::string name(male ? rng.Pick(kMaleChars) : rng.Pick(kFemaleChars));
  if (rng.Chance(0.65)) name += male ? rng.Pick(kMaleChars) : rng.Pick(kFemaleChars);
  return name;
}

std::string DrawHanName(Rng& rng, std::string_view surname, bool male, int birth_year) {
  return std::string(surname) + DrawGivenName(rng, male, birth_year);
}

std::string DrawMongolianName(Rng& rng, bool male) {
  return std::string(male ? rng.Pick(kMongolianMale) : rng.Pick(kMongolianFemale));
}

}  // namespace stationsync::syncgen
